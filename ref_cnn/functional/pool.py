"""Max and average pooling, forward and backward [MB-8, IC-8, IC-9, IC-10].

Pooling slides an f×f window with stride s over each channel separately and keeps the
maximum (IC-8) or the mean (IC-9); it has no parameters and leaves C unchanged (MB-8).
Semantics are torch's: output size with `ceil_mode` (see `shapes.pool_output_size`),
max-pool padding that never wins (−∞, not 0), `count_include_pad` for the divisor.

Ties in max pooling: the whole gradient goes to the *first* maximum of the window in
row-major order (the lowest flat index), as torch does. IC's code instead sends it to
every tied position; see `ref_cnn.articles.errata`.

One deliberate difference: with dilation, a max-pool window can hold nothing but padding.
Both libraries output −∞ there; torch then routes that window's gradient to an unrelated
input element, ref_cnn to none (no input influences a −∞ output).

This module holds the argument checks, the geometry, torch's divisor rule, and the
equations written once as readable NumPy: a window view of the padded input, then max /
argmax / mean over the window axis. `max_pool2d`, `avg_pool2d` and their backward passes
run a faster implementation where the kernel set (`ref_cnn._fast.backend`,
`ref_cnn.set_kernels`) has one, and these equations otherwise; the `*_readable` names always
run the equations. The tests hold the equations, the fast kernels, the literal loops of
`ref_cnn.literal` and torch equal.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ref_cnn._checks import (
    MAX_ELEMENTS,
    as_float_array,
    batched,
    check_grad_shape,
    pair,
    unbatch,
)
from ref_cnn._fast import backend
from ref_cnn.functional.im2col import pad_nchw, windows
from ref_cnn.functional.shapes import pool_output_size


@dataclass(frozen=True)
class PoolGeometry:
    """Validated shapes and hyper-parameters of one pooling call."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """p on the top/left; on the bottom/right p or more, enough for every window."""
        out = []
        for a in (0, 1):
            reach = (self.out_hw[a] - 1) * self.stride[a] + self.dilation[a] * (self.kernel[a] - 1)
            out.append(
                (self.padding[a], max(self.padding[a], reach + 1 - self.in_hw[a] - self.padding[a]))
            )
        return out[0], out[1]

    def padded_shape(self, x: np.ndarray) -> tuple[int, int, int, int]:
        """(N, C, H, W) of x padded by `pads()`."""
        (t, b), (l, r) = self.pads()
        return (x.shape[0], x.shape[1], x.shape[2] + t + b, x.shape[3] + l + r)


def pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    """Check pooling arguments as torch does and return the geometry."""
    as_float_array(x, "x", ndim=4)
    k = pair(kernel_size, "kernel_size", 1)
    no_stride = stride is None or (isinstance(stride, tuple | list) and len(stride) == 0)
    s = k if no_stride else pair(stride, "stride", 1)  # None or () → the kernel, as torch
    p = pair(padding, "padding", 0)
    d = pair(dilation, "dilation", 1)
    if not isinstance(ceil_mode, bool | np.bool_):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    for a in (0, 1):
        limit = k[a] // 2  # torch: p ≤ ⌊k/2⌋ (the undilated kernel), max and avg alike
        if p[a] > limit:
            raise ValueError(
                f"pool padding {p} must be at most half the kernel size {k} "
                f"(here at most {limit}), as in torch"
            )
    h, w = x.shape[2:]
    out = tuple(
        pool_output_size(n, k[a], p[a], s[a], d[a], bool(ceil_mode)) for a, n in enumerate((h, w))
    )
    if min(out) < 1:
        raise ValueError(
            f"pool kernel {k} (dilation {d}) is larger than the padded input "
            f"{(h + 2 * p[0], w + 2 * p[1])}; output would be {out}: use a smaller "
            "kernel_size, or pad (padding up to half the kernel)"
        )
    g = PoolGeometry(k, s, p, d, (h, w), out)
    if np.prod(g.padded_shape(x), dtype=np.float64) > MAX_ELEMENTS:
        raise ValueError(
            f"the padded input {x.shape} with padding {p} would have more than {MAX_ELEMENTS} elements"
        )
    return g


def _gradient_input(dy, x, g: PoolGeometry, added: bool) -> np.ndarray:
    """dy checked against the output shape (unbatched like x), as a 4-D array."""
    dy = as_float_array(dy, "dy")
    out = (*x.shape[:2], *g.out_hw)
    check_grad_shape(dy, out[1:] if added else out)
    return dy[None] if added else dy


# ---------------------------------------------------------------- max pooling (IC-8)


def _window_view(x: np.ndarray, g: PoolGeometry, fill: float) -> np.ndarray:
    """(N, C, H_out, W_out, kH·kW): every window of x padded with `fill` [MB-3, MB-4, AV-3],
    its kH·kW values in row-major order (a copy)."""
    xp = pad_nchw(x, g.pads(), fill)  # MB-3 (bottom/right: enough for ceil_mode's windows)
    view = windows(xp, g.kernel, g.stride, g.dilation, g.out_hw)  # (N, C, H_o, W_o, kH, kW)
    return view.reshape(*view.shape[:4], -1)


def _add_to_windows(values: np.ndarray, x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """The adjoint of `_window_view`: values (N, C, H_out, W_out, kH·kW) added back where
    each window read them, then the padding cropped [IC-10, IC-11]. Returns dx like x."""
    (top, _), (left, _) = g.pads()
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = g.kernel, g.stride, g.dilation, g.out_hw
    values = values.reshape(*values.shape[:4], kh, kw)
    dxp = np.zeros(g.padded_shape(x), dtype=x.dtype)
    for m in range(kh):  # kernel offset (m, q) read rows m·d + i·s, columns q·d + j·s
        for q in range(kw):
            rows = slice(m * dh, m * dh + sh * (ho - 1) + 1, sh)
            cols = slice(q * dw, q * dw + sw * (wo - 1) + 1, sw)
            dxp[:, :, rows, cols] += values[..., m, q]
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]]  # crop the padding


def max_pool2d(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """2-D max pooling [MB-8, IC-8, IC-10], as `torch.nn.functional.max_pool2d`.

    y[n, c, i, j] = max_{m, q} x_pad[n, c, i·s_h + m·d_h, j·s_w + q·d_w], x_pad padded with −∞.

    Args:
        x: (N, C, H, W), or one unbatched sample (C, H, W) as torch.
        kernel_size, stride (None → kernel_size), padding (≤ half the effective kernel),
            dilation: int or (int, int).
        ceil_mode: round the output size up; a window that would start in the padding
            is dropped.
        return_indices: also return where each maximum is: its flat index r·W + c in the
            (H, W) plane of x (int64, torch's convention; `max_unpool2d` takes them). A
            window of padding only (see the module notes) has no maximum in x: its index
            points outside the plane, as torch's does (ref_cnn's is negative).

    Shape:
        y: (N, C, H_out, W_out), H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1 (MB-8); the indices
        have y's shape.

    Example:
        >>> import numpy as np
        >>> from ref_cnn.functional import max_pool2d, max_pool2d_backward
        >>> x = np.array([[1.0, 3, 2, 0], [4, 2, 1, 5], [0, 1, 9, 9], [2, 2, 8, 7]]).reshape(1, 1, 4, 4)
        >>> max_pool2d(x, 2)  # IC-8: each 2×2 window's maximum
        array([[[[4., 5.],
                 [2., 9.]]]])
        >>> max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2)[0, 0]  # to the first maximum (ties)
        array([[0., 0., 0., 0.],
               [1., 0., 0., 1.],
               [0., 0., 1., 0.],
               [1., 0., 0., 0.]])
    """
    x4, added = batched(x)
    g = pool_geometry(x4, kernel_size, stride, padding, dilation, ceil_mode)
    fast = backend.alternative("max_pool2d")
    if fast is not None:  # the kernel set's implementation of the maximum below
        y = fast(x4, g)
    else:
        view = _window_view(x4, g, -np.inf)  # (N, C, H_o, W_o, kH·kW); −∞ padding never wins
        y = view.max(axis=-1)  # IC-8, MB-8: y = max over the window (NaN propagates)
    if not return_indices:
        return unbatch(y, added)
    return unbatch(y, added), unbatch(_argmax_indices(x4, g), added)


def _argmax_indices(x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """(N, C, H_out, W_out) int64: the flat input index r·W + c of each window's first
    maximum [IC-8]; window offset (m, q) of window (i, j) is input row i·s − p + m·d."""
    first = np.argmax(_window_view(x, g, -np.inf), axis=-1)  # offset m·kW + q, first max
    m, q = np.divmod(first, g.kernel[1])
    i = np.arange(g.out_hw[0]).reshape(-1, 1)
    j = np.arange(g.out_hw[1]).reshape(1, -1)
    rows = i * g.stride[0] - g.padding[0] + m * g.dilation[0]
    cols = j * g.stride[1] - g.padding[1] + q * g.dilation[1]
    (h, w), (kh, kw), (dh, dw) = g.in_hw, g.kernel, g.dilation
    in_padding = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    if in_padding.any():  # the window's real values are all −∞ (padding won the tie), or it
        # has none: torch's index is its first real position, where it has one
        first_row, row_ok = _first_real(i * g.stride[0] - g.padding[0], dh, kh, h)
        first_col, col_ok = _first_real(j * g.stride[1] - g.padding[1], dw, kw, w)
        fix = in_padding & row_ok & col_ok
        rows, cols = np.where(fix, first_row, rows), np.where(fix, first_col, cols)
    return (rows * g.in_hw[1] + cols).astype(np.int64)


def _first_real(start: np.ndarray, dilation: int, k: int, size: int):
    """(first input position start + m·d in [0, size), whether there is one) for windows
    starting at `start` (padded coordinates shifted by −p) with k offsets d apart."""
    m = np.maximum(0, -(start // dilation))  # the least m ≥ 0 with start + m·d ≥ 0
    first = start + m * dilation
    return first, (m < k) & (first < size)


def max_pool2d_readable(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """`max_pool2d` as its equation, whatever the kernel set: a window view and a max
    [IC-8, MB-8]. Same arguments, checks and result as `max_pool2d`; slower."""
    with backend.using("readable"):
        return max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
) -> np.ndarray:
    """Gradient of `max_pool2d` [IC-8, IC-10]: each dy goes to its window's first maximum.

    Returns dx of x's shape (x may be unbatched, (C, H, W), with dy (C, H_out, W_out)).
    Where windows overlap (stride < kernel), a position that is the maximum of several
    windows receives the sum of their gradients.
    """
    x, added = batched(x)
    g = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    dy = _gradient_input(dy, x, g, added)
    fast = backend.alternative("max_pool2d_backward")
    if fast is not None:  # the kernel set's implementation of the rule below
        return unbatch(fast(dy, x, g), added)
    view = _window_view(x, g, -np.inf)  # (N, C, H_o, W_o, kH·kW)
    first = np.argmax(view, axis=-1)  # IC-8: the first maximum in row-major order, as torch
    hit = np.arange(view.shape[-1]) == first[..., None]  # one-hot over the window
    dx = _add_to_windows(np.where(hit, dy[..., None], 0), x, g)  # IC-8: δ to the maximum
    return unbatch(dx, added)


def max_pool2d_backward_readable(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
) -> np.ndarray:
    """`max_pool2d_backward` as its rule, whatever the kernel set: argmax, then a one-hot
    scatter [IC-8]. Same arguments, checks and result as `max_pool2d_backward`."""
    with backend.using("readable"):
        return max_pool2d_backward(dy, x, kernel_size, stride, padding, dilation, ceil_mode)


# ---------------------------------------------------------------- average pooling (IC-9)


def _divisor(g: PoolGeometry, count_include_pad: bool, divisor_override=None) -> np.ndarray:
    """(H_out, W_out) divisor of every window, torch's rule.

    The window [start, start + k) is first clipped to the padded input [−p, n + p): its size
    is the divisor with count_include_pad. Without it, the window is clipped to the real
    input [0, n) as well. `divisor_override` (a non-zero int) replaces it everywhere.
    """
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral):
            raise TypeError(f"divisor_override must be an int or None, got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError("divisor_override must not be zero, as torch")
        return np.full(g.out_hw, int(divisor_override))
    sizes = []
    for a in (0, 1):
        start = np.arange(g.out_hw[a]) * g.stride[a] - g.padding[a]
        end = np.minimum(start + g.kernel[a], g.in_hw[a] + g.padding[a])
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, g.in_hw[a]) - np.maximum(start, 0))
    return np.outer(sizes[0], sizes[1])


def avg_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> np.ndarray:
    """2-D average pooling [MB-8, IC-9, IC-10], as `torch.nn.functional.avg_pool2d`.

    y[n, c, i, j] = (1/|window|) Σ_{m, q} x_pad[n, c, i·s + m, j·s + q], x_pad padded with 0.

    Args:
        x: (N, C, H, W), or one unbatched sample (C, H, W) as torch.
        kernel_size, stride (None → kernel_size), padding (≤ half the kernel): int or pair.
        ceil_mode: round the output size up (the extra windows are clipped to the input).
        count_include_pad: count the zero padding in |window| (torch's default) or not.
        divisor_override: a non-zero int that divides every window's sum instead of |window|.

    Shape:
        y: (N, C, H_out, W_out), H_out = ⌊(H + 2p − k)/s⌋ + 1 (MB-8).

    Example:
        >>> import numpy as np
        >>> from ref_cnn.functional import avg_pool2d, avg_pool2d_backward
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> avg_pool2d(x, 2)  # IC-9: each 2×2 window's mean
        array([[[[ 2.5,  4.5],
                 [10.5, 12.5]]]])
        >>> avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)[0, 0, 0]
        array([2.5, 3. , 4. , 4.5])
        >>> avg_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2)[0, 0, 0]  # δ/4 to each position
        array([0.25, 0.25, 0.25, 0.25])
    """
    x, added = batched(x)
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    divisor = _divisor(g, bool(count_include_pad), divisor_override).astype(x.dtype)
    fast = backend.alternative("avg_pool2d")
    if fast is not None:  # the kernel set's implementation of the window sums below
        sums = fast(x, g)
    else:
        view = _window_view(x, g, 0.0)  # (N, C, H_o, W_o, kH·kW), zero padding
        sums = view.sum(axis=-1)  # IC-9, MB-8: Σ over the window
    return unbatch(sums / divisor, added)  # IC-9: the mean, Σ over the window / |window|


def avg_pool2d_readable(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> np.ndarray:
    """`avg_pool2d` as its equation, whatever the kernel set: a window view and a mean
    [IC-9, MB-8]. Same arguments, checks and result as `avg_pool2d` (to rounding); slower."""
    with backend.using("readable"):
        return avg_pool2d(
            x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        )


def avg_pool2d_backward(
    dy,
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> np.ndarray:
    """Gradient of `avg_pool2d` [IC-9, IC-10]: dy/|window| shared equally over the window."""
    x, added = batched(x)
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    dy = _gradient_input(dy, x, g, added)
    divisor = _divisor(g, bool(count_include_pad), divisor_override).astype(x.dtype)
    share = dy / divisor  # IC-9: δ/|window|
    fast = backend.alternative("avg_pool2d_backward")
    if fast is not None:  # the kernel set's implementation of the spread below
        return unbatch(fast(share, x, g), added)
    every = np.broadcast_to(share[..., None], (*share.shape, g.kernel[0] * g.kernel[1]))
    return unbatch(_add_to_windows(every, x, g), added)  # IC-9: the same share everywhere


def avg_pool2d_backward_readable(
    dy,
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> np.ndarray:
    """`avg_pool2d_backward` as its rule, whatever the kernel set: an equal share to every
    position of the window [IC-9]. Same arguments, checks and result as
    `avg_pool2d_backward` (to rounding); slower."""
    with backend.using("readable"):
        return avg_pool2d_backward(
            dy, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        )
