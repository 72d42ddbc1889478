"""Loop-for-loop transcriptions of the articles' convolution sums: correlation, conv2d and
its gradients (also in IC's and AV's own forms), the transposed convolution, and AV's
network patch by patch. Slow, obvious: the witnesses the ops of `ref_cnn.functional` are
tested equal to; each takes its fast twin's arguments and reuses its checks and geometry.

The articles' own forms: IC writes the layer's gradients with scipy.signal's 2-D functions,
one channel pair at a time, and AV its filter gradient as one correlation per image;
`ic7_input_gradient`, `ic5_kernel_gradient` and `av14_filter_gradient` are those forms, with
ref_cnn's scipy-compatible `correlate2d` / `convolve2d`, for groups = 1 and dilation 1 (the
articles have neither). With stride s > 1 the forward pass keeps every s-th window only, so
output (h, w) read input rows h·s + m; spreading δ back onto that grid, δ dilated by s
(s − 1 zeros between its entries, `_dilate`), turns both gradients into the stride-1
formulas applied to the dilated δ: a position no window read gets zero, and the full
convolution is then zero-extended to the padded input size before P is cropped (IC-10, IC-11).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, batched, check_grad_shape, unbatch
from ref_cnn.functional.conv import conv_geometry
from ref_cnn.functional.conv_transpose import transpose_geometry
from ref_cnn.functional.correlate import MODES
from ref_cnn.functional.correlate import convolve2d as _convolve2d
from ref_cnn.functional.correlate import correlate2d as _correlate2d
from ref_cnn.functional.im2col import pad_nchw


def correlate2d(a, k, mode="valid"):
    """Z[i, j] = Σ_m Σ_n A[i+m, j+n]·K[m, n] [AV-1, IC-1], a zero border for "full"/"same"."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    kh, kw = k.shape
    if mode == "valid" and (a.shape[0] < kh or a.shape[1] < kw):
        raise ValueError(
            f"the literal valid correlation needs a {a.shape} at least as large as k {k.shape}"
        )
    if mode != "valid":
        a = np.pad(a, ((kh - 1, kh - 1), (kw - 1, kw - 1)))  # IC-3: full
    out = np.zeros((a.shape[0] - kh + 1, a.shape[1] - kw + 1), dtype=np.result_type(a, k))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for m in range(kh):
                for n in range(kw):
                    out[i, j] += a[i + m, j + n] * k[m, n]
    if mode == "same":  # centred as scipy.signal.correlate2d
        top, left = kh // 2, kw // 2
        out = out[top : top + a.shape[0] - 2 * (kh - 1), left : left + a.shape[1] - 2 * (kw - 1)]
    return out


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """MB-5 / IC-4 as written: every output pixel is a sum over channels and the filter."""
    x, added = batched(x)  # one unbatched sample (C, H, W) too, as the fast op
    g = conv_geometry(x, w, b, stride, padding, dilation, groups)
    xp = pad_nchw(x, g.padding)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    cg, og = g.c_in // g.groups, g.c_out // g.groups
    y = np.zeros(g.out_shape, dtype=x.dtype)
    for n in range(g.n):
        for o in range(g.c_out):
            first = (o // og) * cg  # first input channel of o's group
            for i in range(g.out_hw[0]):
                for j in range(g.out_hw[1]):
                    total = 0.0 if b is None else b[o]
                    for c in range(cg):
                        for m in range(g.kernel[0]):
                            for q in range(g.kernel[1]):
                                total += (
                                    w[o, c, m, q]
                                    * xp[n, first + c, i * sh + m * dh, j * sw + q * dw]
                                )
                    y[n, o, i, j] = total
    return unbatch(y, added)


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Each forward product w·x sends dy·x to ∂E/∂w and dy·w to ∂E/∂x [IC-5, IC-6, IC-7]."""
    x, added = batched(x)
    dy = np.asarray(dy)[None] if added else dy
    g = conv_geometry(x, w, None, stride, padding, dilation, groups)
    xp = pad_nchw(x, g.padding)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros(g.c_out, dtype=x.dtype)
    (sh, sw), (dh, ddw) = g.stride, g.dilation
    cg, og = g.c_in // g.groups, g.c_out // g.groups
    for n in range(g.n):
        for o in range(g.c_out):
            first = (o // og) * cg
            for i in range(g.out_hw[0]):
                for j in range(g.out_hw[1]):
                    d = dy[n, o, i, j]
                    db[o] += d
                    for c in range(cg):
                        for m in range(g.kernel[0]):
                            for q in range(g.kernel[1]):
                                r, s = i * sh + m * dh, j * sw + q * ddw
                                dw[o, c, m, q] += d * xp[n, first + c, r, s]
                                dxp[n, first + c, r, s] += d * w[o, c, m, q]
    (t, _), (left, _) = g.padding
    return unbatch(dxp[:, :, t : t + x.shape[2], left : left + x.shape[3]], added), dw, db


# ------------------------------------------------ the articles' own forms of the gradients


def _dilate(delta: np.ndarray, stride: tuple[int, int]) -> np.ndarray:
    """δ (..., H_out, W_out) with s − 1 zeros between its entries [IC-10]."""
    (sh, sw), (ho, wo) = stride, delta.shape[-2:]
    out = np.zeros((*delta.shape[:-2], (ho - 1) * sh + 1, (wo - 1) * sw + 1), dtype=delta.dtype)
    out[..., ::sh, ::sw] = delta
    return out


def _article_geometry(dy, x, w, stride, padding):
    g = conv_geometry(x, w, None, stride, padding)
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, g.out_shape)
    return g


def ic7_input_gradient(dy, x, w, stride=1, padding=0):
    """IC-7 in IC's own form: ∂E/∂X_j = Σ_i convolve2d(δ_i, K_ij, "full"), cropped by P
    on each side (IC-11), for each image.

    Args and shapes as `conv2d_backward` (groups = 1, dilation 1); returns dx like x.
    With stride > 1, δ is dilated first (see above).
    """
    g = _article_geometry(dy, x, w, stride, padding)
    (top, bottom), (left, right) = g.padding
    hp, wp = g.in_hw[0] + top + bottom, g.in_hw[1] + left + right
    dx = np.zeros(x.shape, dtype=x.dtype)
    for n in range(g.n):
        delta = _dilate(dy[n], g.stride)  # IC-10: (C_out, (H_out − 1)·s + 1, …)
        for j in range(g.c_in):
            full = sum(_convolve2d(delta[i], w[i, j], "full") for i in range(g.c_out))  # IC-7
            padded = np.zeros((hp, wp), dtype=x.dtype)  # rows past the last window get 0
            padded[: full.shape[0], : full.shape[1]] = full
            dx[n, j] = padded[top : top + g.in_hw[0], left : left + g.in_hw[1]]  # IC-11
    return dx


def ic5_kernel_gradient(dy, x, w, stride=1, padding=0):
    """IC-5 in IC's own form: ∂E/∂K_ij = correlate2d(X_j, δ_i, "valid"), summed over the
    images (X_j zero-padded by P).

    Args and shapes as `conv2d_backward` (groups = 1, dilation 1); returns dw like w.
    With stride > 1, δ is dilated first, and the correlation's first kH×kW entries are
    the gradient (the rest pair δ with rows no window read).
    """
    g = _article_geometry(dy, x, w, stride, padding)
    kh, kw = g.kernel
    xp = pad_nchw(x, g.padding)
    dw = np.zeros(w.shape, dtype=w.dtype)
    for n in range(g.n):
        delta = _dilate(dy[n], g.stride)  # IC-10
        for i in range(g.c_out):
            for j in range(g.c_in):
                dw[i, j] += _correlate2d(xp[n, j], delta[i], "valid")[:kh, :kw]  # IC-5
    return dw


def av14_filter_gradient(delta, x, f, stride=1, padding=0):
    """AV-14 in AV's own form: ∂E/∂f = Σ_n correlate2d(X_n, δ1_n, "valid"), one filter
    at a time, for AV's single-channel images.

    Args:
        delta: (N, F, H_out, W_out), δ1 = ∂E/∂Z1.
        x: (N, 1, H, W), the images; f: (F, 1, k, k), the filters.

    Returns ∂E/∂f, shaped like f. With stride > 1, δ1 is dilated first (as in IC-5).
    """
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"AV-14 takes single-channel images (N, 1, H, W), got x {x.shape}")
    g = _article_geometry(delta, x, f, stride, padding)
    kh, kw = g.kernel
    xp = pad_nchw(x, g.padding)
    df = np.zeros(f.shape, dtype=f.dtype)
    for k in range(g.c_out):  # AV-14: ∂E/∂f = Σ_n X_n ⋆ δ1_n
        terms = (
            _correlate2d(xp[n, 0], _dilate(delta[n, k], g.stride), "valid") for n in range(g.n)
        )
        df[k, 0] = sum(terms)[:kh, :kw]
    return df


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """IC-7's scatter read literally: every input pixel adds x·w to the output it reaches.

    y[n, o, h·s + m·d − p, w·s + q·d − p] += x[n, i, h, w]·w[i, o, m, q], then + b[o].
    """
    x4, added = batched(x)
    g = transpose_geometry(x4, w, b, stride, padding, output_padding, groups, dilation)
    (sh, sw), (dh, dw), (ph, pw) = g.stride, g.dilation, g.padding
    cg, og = g.c_in // g.groups, g.c_out // g.groups
    y = np.zeros(g.out_shape, dtype=x.dtype)
    for n in range(g.n):
        for i in range(g.c_in):
            first = (i // cg) * og  # first output channel of i's group
            for h in range(g.in_hw[0]):
                for v in range(g.in_hw[1]):
                    for o in range(og):
                        for m in range(g.kernel[0]):
                            for q in range(g.kernel[1]):
                                r, c = h * sh + m * dh - ph, v * sw + q * dw - pw
                                if 0 <= r < g.out_hw[0] and 0 <= c < g.out_hw[1]:
                                    y[n, first + o, r, c] += x4[n, i, h, v] * w[i, o, m, q]
    if b is not None:
        for o in range(g.c_out):
            y[:, o] += b[o]
    return unbatch(y, added)


def av_pass_per_patch(x, y, f, w):
    """AV's network the way the article's code computes it, patch by patch in Python loops,
    but with correct maths (one forward and backward, standardisation left out).

    x: (N, 1, 28, 28), y: (N, 1), f: (F, 1, k, k), w: (F·(28−k+1)², 1). Returns (E, ∂E/∂f, ∂E/∂W).
    This is the baseline for the speed comparison in scripts/bench.py.
    """
    n, n_f, k = x.shape[0], f.shape[0], f.shape[2]
    side = x.shape[2] - k + 1
    patches = []  # AV-3, as the article does it: first every f×f patch of every image …
    for img in range(n):
        for i in range(side):
            for j in range(side):
                patches.append(x[img, 0, i : i + k, j : j + k])
    patches = np.array(patches).reshape(n, side * side, k, k)
    z1 = np.zeros((n, n_f, side * side))
    for img in range(n):  # … then each patch times each filter, summed
        for flt in range(n_f):
            for p in range(side * side):
                z1[img, flt, p] = (patches[img][p] * f[flt, 0]).sum()
    z1 = z1.reshape(n, n_f, side, side)
    a1 = 1 / (1 + np.exp(-z1))
    flat = a1.reshape(n, -1)
    o = 1 / (1 + np.exp(-(flat @ w)))
    err = float(np.sum((y - o) ** 2) / 2)
    delta2 = -(y - o) * o * (1 - o)  # AV-8, AV-9
    dw = flat.T @ delta2  # AV-10
    delta1 = (delta2 @ w.T).reshape(a1.shape) * a1 * (1 - a1)  # AV-13
    df = np.zeros_like(f)
    for flt in range(n_f):  # AV-14: every filter entry, every image
        for i in range(k):
            for j in range(k):
                for img in range(n):
                    df[flt, 0, i, j] += (
                        x[img, 0, i : i + side, j : j + side] * delta1[img, flt]
                    ).sum()
    return err, df, dw
