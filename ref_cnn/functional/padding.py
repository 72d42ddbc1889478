"""Padding with torch's four modes, forward and backward [MB-3, IC-11].

MB-3 pads with zeros: p rows/columns on each side. `torch.nn.functional.pad` also pads
with another constant, by reflection, by replication of the edge, and circularly:

    constant   … v v | a b c d | v v …
    reflect    … c b | a b c d | c b …      (the edge itself is not repeated)
    replicate  … a a | a b c d | d d …
    circular   … c d | a b c d | a b …

Every output position reads exactly one input position (or the constant), so the
backward pass sends each output's gradient back to the position it read: a
scatter-add, since reflect, replicate and circular read some inputs more than once.

`pad` is a flat sequence (before_last, after_last, before_second_last, ...) as in torch;
a negative entry crops instead of padding.
"""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype

MODES = ("constant", "reflect", "replicate", "circular")


def _pairs(x: np.ndarray, pad, mode: str) -> list[tuple[int, int, int]]:
    """Check `pad` against x as torch does; return (axis, before, after) per padded axis."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(pad, tuple | list) or not all(
        isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pad
    ):
        raise TypeError(f"pad must be a tuple of ints (before, after, ...), got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"pad must have an even length (before, after per axis), got {pad!r}")
    k = len(pad) // 2
    if k > x.ndim:
        raise ValueError(
            f"pad {tuple(pad)} pads {k} axes but x has only {x.ndim} (shape {x.shape})"
        )
    if mode != "constant" and not (1 <= k <= 3 and x.ndim in (k + 1, k + 2)):
        raise ValueError(
            f"mode {mode!r} pads the last 1, 2 or 3 axes of a (C, *) or (N, C, *) input, "
            f"as torch: {k} axes need a {k + 1}-D or {k + 2}-D x, got shape {x.shape}"
        )
    out = []
    for i in range(k):
        axis, before, after = x.ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])
        n = x.shape[axis]
        kept = n + min(before, 0) + min(after, 0)  # what is left of the axis after cropping
        if mode in ("constant", "circular") and kept < 0:
            raise ValueError(
                f"pad {(before, after)} crops more than axis {axis}'s size {n}, as torch refuses"
            )
        if mode != "constant" and n + before + after < 1:
            raise ValueError(
                f"pad {(before, after)} would leave axis {axis} of size {n} empty; torch's "
                f"{mode!r} padding needs at least one element"
            )
        if mode == "reflect" and (before >= n or after >= n):
            raise ValueError(
                f"reflect padding {(before, after)} must be smaller than axis {axis}'s size {n}"
            )
        if mode == "circular" and max(before, after) > kept:
            raise ValueError(
                f"circular padding {(before, after)} may wrap at most once: at most the "
                f"size {kept} of axis {axis} after cropping (torch reads unset memory there)"
            )
        if mode == "replicate" and n == 0 and before + after > 0:
            raise ValueError(f"replicate padding needs a non-empty axis {axis} to copy")
        out.append((axis, before, after))
    return out


def source_index(n: int, before: int, after: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Which input position each output position along one axis reads.

    Returns (index, inside): output j reads input index[j] where inside[j], else the
    constant (only in "constant" mode). Output j stands at input coordinate c = j − before.
    """
    c = np.arange(n + before + after) - before
    if mode == "constant":
        inside = (c >= 0) & (c < n)
        return np.clip(c, 0, max(n - 1, 0)), inside
    if mode == "reflect":  # mirror about the first and last element: −1 → 1, n → n − 2
        index = np.abs(c)
        index = np.where(index > n - 1, 2 * (n - 1) - index, index)
    elif mode == "replicate":  # the edge element repeated
        index = np.clip(c, 0, n - 1)
    else:  # circular: crop first (negative pads), then wrap around what is left
        lo, hi = max(-before, 0), n - max(-after, 0)
        index = lo + (c - lo) % (hi - lo) if hi > lo else c
    return index, np.ones(c.shape, dtype=bool)


def pad(x, pad, mode="constant", value=None) -> np.ndarray:
    """Pad (or, with negative entries, crop) the last axes of x, as `torch.nn.functional.pad`.

    [MB-3, IC-11]

    y[…, j] = x[…, index(j)]  (or `value` outside x in "constant" mode), with index per mode:
    reflect |c| mirrored at both ends, replicate clip(c, 0, n − 1), circular c mod n,
    where c = j − before is output j's coordinate on the input axis.

    Args:
        x: any shape for "constant"; (C, *) or (N, C, *) with 1 to 3 padded axes otherwise.
        pad: (before_last, after_last, before_second_last, after_second_last, …), ints;
            MB-3's p on each side of H and W is (p, p, p, p).
        mode: "constant", "reflect", "replicate" or "circular".
        value: the constant (default 0); only for mode "constant".

    Shape:
        y: x's shape with each padded axis n → n + before + after.
    """
    x = as_float_array(x, "x")
    pairs = _pairs(x, pad, mode)
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"mode {mode!r} takes no value (only 'constant' does), got {value!r}")
    fill = x.dtype.type(0 if value is None else value)
    y = x
    for axis, before, after in pairs:  # one axis at a time; corners take `value`
        index, inside = source_index(x.shape[axis], before, after, mode)
        if x.shape[axis] == 0:  # nothing to read: all constant
            shape = list(y.shape)
            shape[axis] = index.size
            y = np.full(shape, fill, dtype=x.dtype)
            continue
        y = np.take(y, index, axis=axis)
        if not inside.all():
            mask = inside.reshape([-1 if a == axis else 1 for a in range(y.ndim)])
            y = np.where(mask, y, fill)
    return y.copy() if y is x else y


def pad_backward(dy, x, pad, mode="constant") -> np.ndarray:
    """Gradient of `pad` [MB-3, IC-11]: each output's dy added to the input position it read.

    dx[…, i] = Σ_{j : index(j) = i} dy[…, j]; the constant's positions pass nothing back.
    For zero padding this is the crop of IC-11.
    """
    x = as_float_array(x, "x")
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    pairs = _pairs(x, pad, mode)
    out_shape = list(x.shape)
    for axis, before, after in pairs:
        out_shape[axis] += before + after
    check_grad_shape(dy, tuple(out_shape))
    dx = dy
    for axis, before, after in reversed(pairs):  # undo the axes in reverse order
        n = x.shape[axis]
        index, inside = source_index(n, before, after, mode)
        moved = np.moveaxis(dx, axis, 0)[inside]  # (outputs that read x, …)
        acc = np.zeros((n, *moved.shape[1:]), dtype=x.dtype)
        np.add.at(acc, index[inside], moved)  # Σ over the outputs that read position i
        dx = np.moveaxis(acc, 0, axis)
    return np.ascontiguousarray(dx) if dx is not dy else dy.copy()
