"""Nearest, (bi/tri)linear and area up/down-sampling, torch's `interpolate` [SPA-8 … SPA-10].

Both kinds are separable: along each spatial axis, output position o reads one input
position (nearest) or two with weights 1 − λ and λ (bilinear), and the axes are applied one
after the other (the last axis first, as torch's kernel nests its sums). The backward pass
sends each output gradient back to the positions and with the weights it read.

The source positions follow torch's ATen (`UpSample.h`) exactly, including its arithmetic:

    scale s     = 1/scale_factor where a scale factor reaches the kernel, else n_in/n_out;
                  align_corners: (n_in − 1)/(n_out − 1) (0 when n_out = 1)
    nearest     src = min(⌊o·s⌋, n_in − 1) in float32 (s rounded to float32 first); for 2-D
                  input n_out = n_in copies and n_out = 2·n_in reads o >> 1 (torch's nearest_idx)
    nearest-exact  src = min(⌊(o + ½)·s⌋, n_in − 1)
    bilinear    src = s·o (align_corners) or max(s·(o + ½) − ½, 0), in x's precision;
                i₀ = min(⌊src⌋, n_in − 1), i₁ = i₀ + 1 if i₀ < n_in − 1 else i₀,
                λ = clamp(src − i₀, 0, 1); n_out = n_in copies

Output size: `size`, or ⌊n_in·scale_factor⌋. With recompute_scale_factor=True the scale
factor only sets that size, and the kernel uses n_in/n_out; otherwise it uses 1/scale_factor.
Nearest takes 1 to 3 spatial axes ((N, C, L), (N, C, H, W), (N, C, D, H, W)); bilinear
(N, C, H, W), and its 1-D and 3-D forms "linear" (N, C, L) and "trilinear" (N, C, D, H, W)
the same rule along each axis; "area" is adaptive average pooling to the output size
[SPA-10] (torch always recomputes the size from a scale factor there). One difference on purpose: torch's 1-D and 3-D nearest kernels take the two
shortcuts in the backward pass but not in the forward pass, so where they matter (a scale
factor such as 1.1 that keeps the size, or 2.1 that doubles it) torch's gradient is not the
derivative of its output. ref_cnn's forward is torch's, and its backward is the derivative
of that forward (the 2-D kernels take the shortcuts both ways, and agree).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ref_cnn._checks import MAX_ELEMENTS, as_float_array, check_grad_shape, same_dtype

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")
_RANKS = {
    "area": (1, 2, 3),
    "nearest": (1, 2, 3),
    "nearest-exact": (1, 2, 3),
    "linear": (1,),
    "bilinear": (2,),
    "trilinear": (3,),
}


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _per_axis(value, dim: int, name: str) -> list:
    if isinstance(value, tuple | list):
        if len(value) != dim:
            raise ValueError(
                f"{name} must have one entry per spatial dimension ({dim}), got {value!r}"
            )
        return list(value)
    return [value] * dim


def _plan(x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias):
    """Check the arguments as torch does; return (output sizes, scales for the kernel, align)."""
    x = as_float_array(x, "x")
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    dim = x.ndim - 2
    if dim not in _RANKS[mode]:
        shapes = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
        wanted = " or ".join(shapes[r] for r in _RANKS[mode])
        raise ValueError(f"interpolate({mode!r}) takes x of shape {wanted}, got {x.shape}")
    if mode.startswith("nearest") or mode == "area":
        if align_corners is not None:
            raise ValueError(
                "align_corners can only be set with the interpolating modes (linear, "
                "bilinear, trilinear); "
                f"leave it None for {mode!r}"
            )
    elif align_corners is None:
        align_corners = False
    elif not isinstance(align_corners, bool | np.bool_):
        raise TypeError(f"align_corners must be a bool or None, got {align_corners!r}")
    if antialias:
        raise ValueError("antialias=True is not implemented in ref_cnn; pass antialias=False")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    n_in = x.shape[2:]
    if math.prod(x.shape[1:]) == 0:  # torch: only the batch may be empty
        raise ValueError(
            f"interpolate needs non-empty channels and spatial axes, got x of shape {x.shape}"
        )
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size")
        out = _per_axis(size, dim, "size")
        if not all(_is_int(v) for v in out):
            raise TypeError(f"size must be an int or a tuple of ints, got {size!r}")
        scales = [None] * dim
    else:
        factors = _per_axis(scale_factor, dim, "scale_factor")
        if not all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in factors):
            raise TypeError(
                f"scale_factor must be a float or a tuple of floats, got {scale_factor!r}"
            )
        if not all(math.isfinite(f) for f in factors):
            raise ValueError(f"scale_factor must be finite, got {scale_factor!r}")
        out = [int(n * float(f)) for n, f in zip(n_in, factors, strict=True)]  # ⌊n·s⌋ (n·s ≥ 0)
        recompute = recompute_scale_factor or mode == "area"  # area: torch recomputes always
        scales = [None] * dim if recompute else [float(f) for f in factors]
    out = [int(v) for v in out]
    if min(n_in) < 1 or min(out) < 1:
        raise ValueError(
            f"input and output sizes must be greater than 0, got input {tuple(n_in)} and "
            f"output {tuple(out)}"
        )
    if math.prod(x.shape[:2]) * math.prod(out) > MAX_ELEMENTS:
        raise ValueError(
            f"the output {(*x.shape[:2], *out)} would have more than {MAX_ELEMENTS} elements"
        )
    return x, out, scales, align_corners


# ------------------------------------------------------------------ source positions


def _float32_scale(n_in: int, n_out: int, scale: float | None) -> np.float32:
    """torch's compute_scales_value<float>: 1/scale_factor, else n_in/n_out, in float32."""
    if scale is not None and scale > 0:
        return np.float32(1.0 / scale)
    return np.float32(n_in) / np.float32(n_out)


def nearest_source(n_in: int, n_out: int, scale: float | None, exact=False, shortcuts=True):
    """Input index read by each output index along one axis [SPA-8] (torch's nearest_idx /
    nearest_exact_idx). `shortcuts`: n_out = n_in copies and n_out = 2·n_in reads o >> 1
    (torch's 2-D kernels; its 1-D and 3-D forward kernels compute ⌊o·s⌋ throughout)."""
    o = np.arange(n_out)
    s = _float32_scale(n_in, n_out, scale)
    if exact:  # (o + ½)·s in double, rounded to float32 by floorf
        src = np.floor(((o + 0.5) * np.float64(s)).astype(np.float32))
        return np.minimum(src.astype(np.int64), n_in - 1)
    if shortcuts and n_out == n_in:
        return o
    if shortcuts and n_out == 2 * n_in:
        return o >> 1
    src = np.floor(o.astype(np.float32) * s)  # SPA-8: ⌊o·s⌋ in float32
    return np.minimum(src.astype(np.int64), n_in - 1)


def bilinear_source(n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype):
    """(i₀, i₁, λ₀, λ₁) along one axis [SPA-9], λ in `dtype` as torch's opmath (float32 for
    float32, float64 for float64)."""
    o = np.arange(n_out)
    t = np.dtype(dtype).type
    if n_out == n_in:  # torch copies
        return o, o, np.ones(n_out, dtype), np.zeros(n_out, dtype)
    if align_corners:
        s = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = s * o.astype(dtype)  # SPA-9: src = s·o
    else:
        s = t(1.0 / scale) if scale is not None and scale > 0 else t(n_in) / t(n_out)
        src = np.maximum(s * (o.astype(dtype) + t(0.5)) - t(0.5), t(0))  # max(s(o + ½) − ½, 0)
    i0 = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)  # floorf
    lam1 = np.clip(src - i0, t(0), t(1)).astype(dtype)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return i0, i1, (t(1) - lam1).astype(dtype), lam1


def _taps(x, out, scales, mode, align_corners):
    """Per spatial axis: [(indices, weights or None), …] read by each output position."""
    taps = []
    for n_in, n_out, scale in zip(x.shape[2:], out, scales, strict=True):
        if mode.endswith("linear"):
            i0, i1, l0, l1 = bilinear_source(n_in, n_out, scale, align_corners, x.dtype)
            taps.append([(i0, l0), (i1, l1)])
        else:
            exact, shortcuts = mode == "nearest-exact", x.ndim == 4
            taps.append([(nearest_source(n_in, n_out, scale, exact, shortcuts), None)])
    return taps


def area_windows(n_in: int, n_out: int) -> list[range]:
    """Input window of each output index along one axis [SPA-10]: [⌊o·n/m⌋, ⌈(o+1)·n/m⌉)
    (adaptive average pooling's windows)."""
    return [range(o * n_in // n_out, -(-(o + 1) * n_in // n_out)) for o in range(n_out)]


def _area_mean(y: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """The mean over each output's window along `axis` [SPA-10]."""
    windows = area_windows(y.shape[axis], n_out)
    means = [np.take(y, w, axis=axis).sum(axis=axis) / len(w) for w in windows]
    return np.stack(means, axis=axis)


def _area_mean_backward(g: np.ndarray, axis: int, n_in: int) -> np.ndarray:
    """Each output gradient shared equally over its window along `axis` [SPA-10]."""
    shape = list(g.shape)
    shape[axis] = n_in
    dg = np.zeros(shape, dtype=g.dtype)
    moved_dg, moved_g = np.moveaxis(dg, axis, 0), np.moveaxis(g, axis, 0)
    for o, w in enumerate(area_windows(n_in, g.shape[axis])):
        moved_dg[w.start : w.stop] += moved_g[o] / len(w)
    return dg


def _expand(w: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    return w.reshape((-1,) + (1,) * (ndim - 1 - axis))


# ------------------------------------------------------------------ forward and backward


def interpolate(
    x,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
) -> np.ndarray:
    """Resample x's spatial axes as torch.nn.functional.interpolate [SPA-8, SPA-9, SPA-10].

    nearest: y[o] = x[src(o)] per axis; bilinear: y[o_h, o_w] =
    Σ_{a, b ∈ {0, 1}} λ_a(o_h)·λ_b(o_w)·x[i_a(o_h), i_b(o_w)] (source rules in the module
    docstring).

    Shape: x (N, C, H, W) → (N, C, H_out, W_out), H_out = size or ⌊H·scale_factor⌋
    (nearest also (N, C, L) and (N, C, D, H, W)).
    """
    x, out, scales, align = _plan(
        x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
    )
    if mode == "area":  # adaptive average pooling, one axis at a time
        y = x
        for axis in reversed(range(2, x.ndim)):
            y = _area_mean(y, axis, out[axis - 2])  # SPA-10: mean over [⌊o·n/m⌋, ⌈(o+1)·n/m⌉)
        return y
    y, all_taps = x, _taps(x, out, scales, mode, align)
    for axis in reversed(range(2, x.ndim)):  # the last axis first, as torch nests the sums
        taps = all_taps[axis - 2]
        if taps[0][1] is None:
            y = np.take(y, taps[0][0], axis=axis)  # SPA-8: y[o] = x[src(o)]
        else:
            (i0, l0), (i1, l1) = taps
            w0, w1 = _expand(l0, axis, x.ndim), _expand(l1, axis, x.ndim)
            y = w0 * np.take(y, i0, axis=axis) + w1 * np.take(y, i1, axis=axis)  # SPA-9
    return y.copy() if y is x else y


def interpolate_backward(
    dy,
    x,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
) -> np.ndarray:
    """∂E/∂x for `interpolate` [SPA-8, SPA-9, SPA-10]: every output gradient goes back to the input
    positions it read, times the weight it read them with (Σ over the outputs that read each
    position). Returns dx, shaped like x."""
    x, out, scales, align = _plan(
        x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
    )
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, (*x.shape[:2], *out))
    if mode == "area":
        g = dy
        for axis in range(2, x.ndim):
            g = _area_mean_backward(g, axis, x.shape[axis])
        return g
    g, all_taps = dy, _taps(x, out, scales, mode, align)
    for axis in range(2, x.ndim):  # the forward's axes in reverse order
        shape = list(g.shape)
        shape[axis] = x.shape[axis]
        dg = np.zeros(shape, dtype=dy.dtype)
        moved_dg = np.moveaxis(dg, axis, 0)  # a view: adds land in dg
        moved_g = np.moveaxis(g, axis, 0)
        for idx, w in all_taps[axis - 2]:
            part = moved_g if w is None else _expand(w, 0, g.ndim) * moved_g
            np.add.at(moved_dg, idx, part)  # Σ over the outputs that read each input index
        g = dg
    return g
