"""Loop-for-loop readings of LP pooling and nearest / bilinear upsampling [SPA-4, SPA-8, SPA-9]:
slow, obvious, and the witnesses that `ref_cnn.functional.lp_pool2d` and `interpolate` are
tested equal to.

As in `ref_cnn.literal`, each function reuses its fast twin's argument checks and output
sizes, and evaluates the sum itself: one output pixel at a time, with the scalar source-index
rule of torch's ATen kernels written out (float32 where torch computes in float32).
"""

from __future__ import annotations

import math

import numpy as np

from ref_cnn._checks import batched, unbatch
from ref_cnn.functional.interpolate import _plan
from ref_cnn.functional.lp_pool import _norm
from ref_cnn.functional.pool import pool_geometry

# ------------------------------------------------------------------ LP pooling (SPA-4)


def _window(g, i, j):
    """Input positions of window (i, j) (no padding) and torch's avg-pool divisor: the number
    of cells the window holds inside the input (ceil_mode clips the last windows)."""
    rows = range(i * g.stride[0], min(i * g.stride[0] + g.kernel[0], g.in_hw[0]))
    cols = range(j * g.stride[1], min(j * g.stride[1] + g.kernel[1], g.in_hw[1]))
    return [(r, s) for r in rows for s in cols], len(rows) * len(cols)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """SPA-4: y = (sign(s)·relu(|s|)·k_H·k_W)^(1/p), s = the mean of x^p over the window."""
    x4, added = batched(x)
    p = _norm(norm_type)
    g = pool_geometry(x4, kernel_size, stride, 0, 1, ceil_mode)
    area = g.kernel[0] * g.kernel[1]
    y = np.empty((*x4.shape[:2], *g.out_hw), dtype=x4.dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for n in range(x4.shape[0]):
            for c in range(x4.shape[1]):
                for i in range(g.out_hw[0]):
                    for j in range(g.out_hw[1]):
                        cells, divisor = _window(g, i, j)
                        values = [abs(x4[n, c, r, s]) for r, s in cells]
                        if p == math.inf:
                            y[n, c, i, j] = max(values)
                        elif p == -math.inf:
                            y[n, c, i, j] = min(values)
                        else:
                            mean = sum(x4[n, c, r, s] ** p for r, s in cells) / divisor
                            v = np.sign(mean) * max(abs(mean), 0) * area
                            y[n, c, i, j] = v ** (1 / p)
    return unbatch(y, added)


def lp_pool2d_backward(dy, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """SPA-4 backward, finite p: each window's ∂E/∂v = dy·(1/p)·v^(1/p − 1), times k_H·k_W
    unless the mean is 0 (a NaN mean passes, as relu's gradient), shared over the window's
    divisor, times p·x^(p − 1) per cell."""
    x4, added = batched(x)
    dy4 = dy[None] if added else dy
    p = _norm(norm_type)
    if math.isinf(p):
        raise ValueError("the literal LP-pool backward is written for finite p")
    g = pool_geometry(x4, kernel_size, stride, 0, 1, ceil_mode)
    area = g.kernel[0] * g.kernel[1]
    dx = np.zeros_like(x4)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for n in range(x4.shape[0]):
            for c in range(x4.shape[1]):
                for i in range(g.out_hw[0]):
                    for j in range(g.out_hw[1]):
                        cells, divisor = _window(g, i, j)
                        mean = sum(x4[n, c, r, s] ** p for r, s in cells) / divisor
                        v = np.sign(mean) * max(abs(mean), 0) * area
                        dv = dy4[n, c, i, j] * ((1 / p) * v ** (1 / p - 1))
                        dmean = 0.0 if abs(mean) <= 0 else dv * area  # relu′(0) = 0
                        for r, s in cells:
                            dx[n, c, r, s] += dmean / divisor  # ∂E/∂(x^p)
        dx *= p * x4 ** (p - 1)  # every cell, covered or not (0·NaN is NaN, as torch)
    return unbatch(dx, added)


# ------------------------------------------------------------------ upsampling (SPA-8, SPA-9)


def _nearest_index(o: int, n_in: int, n_out: int, scale) -> int:
    """torch's nearest_idx for one output index (2-D kernels)."""
    if n_out == n_in:
        return o
    if n_out == 2 * n_in:
        return o >> 1
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    return min(int(math.floor(np.float32(o) * s)), n_in - 1)  # SPA-8: ⌊o·s⌋ in float32


def _linear_taps(o: int, n_in: int, n_out: int, scale, align_corners: bool, t):
    """(i₀, i₁, λ₀, λ₁) for one output index, in the float type t (torch's opmath)."""
    if n_out == n_in:
        return o, o, t(1), t(0)
    if align_corners:
        src = (t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)) * t(o)
    else:
        s = t(1.0 / scale) if scale else t(n_in) / t(n_out)
        src = max(s * (t(o) + t(0.5)) - t(0.5), t(0))  # SPA-9: max(s(o + ½) − ½, 0)
    i0 = min(int(math.floor(np.float32(src))), n_in - 1)  # floorf
    lam1 = min(max(src - t(i0), t(0)), t(1))
    return i0, (i0 + 1 if i0 < n_in - 1 else i0), t(1) - lam1, lam1


def upsample_nearest2d(x, size=None, scale_factor=None, recompute_scale_factor=None):
    """SPA-8: y[n, c, o_h, o_w] = x[n, c, src_h(o_h), src_w(o_w)]."""
    x, (ho, wo), (sh, sw), _ = _plan(
        x, size, scale_factor, "nearest", None, recompute_scale_factor, False
    )
    y = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(ho):
                for j in range(wo):
                    r = _nearest_index(i, x.shape[2], ho, sh)
                    s = _nearest_index(j, x.shape[3], wo, sw)
                    y[n, c, i, j] = x[n, c, r, s]
    return y


def upsample_nearest2d_backward(dy, x, size=None, scale_factor=None, recompute_scale_factor=None):
    """SPA-8 backward: each dy[o_h, o_w] is added to the input pixel it copied."""
    x, (ho, wo), (sh, sw), _ = _plan(
        x, size, scale_factor, "nearest", None, recompute_scale_factor, False
    )
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(ho):
                for j in range(wo):
                    r = _nearest_index(i, x.shape[2], ho, sh)
                    s = _nearest_index(j, x.shape[3], wo, sw)
                    dx[n, c, r, s] += dy[n, c, i, j]
    return dx


def _bilinear_pixel(x, dy_or_none, dx, n, c, i, j, th, tw):
    """One output pixel: its value (forward) or its gradient added to dx (backward)."""
    h0, h1, a0, a1 = th
    w0, w1, b0, b1 = tw
    if dy_or_none is None:
        row0 = b0 * x[n, c, h0, w0] + b1 * x[n, c, h0, w1]
        row1 = b0 * x[n, c, h1, w0] + b1 * x[n, c, h1, w1]
        return a0 * row0 + a1 * row1  # SPA-9: λ-weighted sum of the 4 neighbours
    g = dy_or_none[n, c, i, j]
    for h, a in ((h0, a0), (h1, a1)):
        for w, b in ((w0, b0), (w1, b1)):
            dx[n, c, h, w] += a * b * g
    return None


def _bilinear(x, dy, size, scale_factor, align_corners, recompute_scale_factor):
    x, (ho, wo), (sh, sw), align = _plan(
        x, size, scale_factor, "bilinear", align_corners, recompute_scale_factor, False
    )
    t = x.dtype.type
    out = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype) if dy is None else np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(ho):
                th = _linear_taps(i, x.shape[2], ho, sh, align, t)
                for j in range(wo):
                    tw = _linear_taps(j, x.shape[3], wo, sw, align, t)
                    value = _bilinear_pixel(x, dy, out, n, c, i, j, th, tw)
                    if dy is None:
                        out[n, c, i, j] = value
    return out


def upsample_bilinear2d(
    x, size=None, scale_factor=None, align_corners=None, recompute_scale_factor=None
):
    """SPA-9: y = Σ λ_h·λ_w·x over the 2×2 neighbours of each output pixel's source point."""
    return _bilinear(x, None, size, scale_factor, align_corners, recompute_scale_factor)


def upsample_bilinear2d_backward(
    dy, x, size=None, scale_factor=None, align_corners=None, recompute_scale_factor=None
):
    """SPA-9 backward: dy of each output pixel goes to its 4 neighbours, times λ_h·λ_w."""
    return _bilinear(x, dy, size, scale_factor, align_corners, recompute_scale_factor)
