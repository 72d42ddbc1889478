"""Deliberately wrong implementations for the conformance kit's tests."""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.functional.pool import pool_geometry
from ref_cnn.literal.pool import _pool_window


def conv2d_backward_transposed_kernel(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """A classic bug: the kernel gradient comes back with its spatial axes swapped."""
    dx, dw, db = F.conv2d_backward(dy, x, w, stride, padding, dilation, groups)
    if dw.shape[2] == dw.shape[3]:
        dw = np.swapaxes(dw, 2, 3)
    return dx, dw, db


def conv2d_backward_ignores_stride(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Another: the input gradient scatters δ as if the stride were 1 (zero-stuffing forgotten)."""
    dx, dw, db = F.conv2d_backward(dy, x, w, stride, padding, dilation, groups)
    if stride != 1:
        dx = np.zeros_like(dx)
        h, wd = dy.shape[2:]
        dx[:, :, :h, :wd] += F.conv2d_backward(
            dy, x[:, :, : h + w.shape[2] - 1, : wd + w.shape[3] - 1], w, 1, 0, dilation, groups
        )[0][:, :, :h, :wd]
    return dx, dw, db


def max_pool2d_backward_all_ties(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    """IC's rule: every position equal to the window maximum gets the gradient."""
    g = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dy.shape):
        window = list(_pool_window(g, i, j))
        top = max(x[n, c, r, s] for r, s in window)
        for r, s in window:
            if x[n, c, r, s] == top:
                dx[n, c, r, s] += dy[n, c, i, j]
    return dx


def conv2d_nan(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Right shape, right dtype, every value NaN: a max-based metric used to pass it."""
    return np.full_like(F.conv2d(x, w, b, stride, padding, dilation, groups), np.nan)


def conv2d_one_ulp_off(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Correct but for one ulp added to every element: rounding, not a bug (must pass)."""
    y = F.conv2d(x, w, b, stride, padding, dilation, groups)
    return y + np.spacing(np.abs(y))


def pad_reflect_as_symmetric(x, pad, mode="constant", value=None):
    """ "reflect" read as NumPy's "symmetric" (the edge repeated): a classic mix-up."""
    if mode != "reflect":
        return F.pad(x, pad, mode, value)
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return np.pad(x, widths, mode="symmetric")


def adaptive_max_pool2d_floor_ends(x, output_size):
    """Window ends rounded down, ⌊(i+1)·H/o⌋ instead of ⌈(i+1)·H/o⌉: where o does not divide H
    the windows stop overlapping and a row or column falls out of every window."""
    h, w = x.shape[-2:]
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    oh, ow = oh or h, ow or w
    y = np.empty((*x.shape[:-2], oh, ow), x.dtype)
    for i, j in np.ndindex(oh, ow):
        r0, c0 = i * h // oh, j * w // ow
        r1, c1 = max((i + 1) * h // oh, r0 + 1), max((j + 1) * w // ow, c0 + 1)
        y[..., i, j] = x[..., r0:r1, c0:c1].max(axis=(-2, -1))
    return y


# ------------------------------------------------ bugs of tiled kernels (the kit's tile-* cases)


def conv2d_drops_last_cin_block(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """A kernel that walks the input channels in blocks of 32 and, once a group has more than
    64 of them, forgets the last partial block (C_in/groups = 67: channels 64–66 never read)."""
    per_group = w.shape[1]
    if per_group > 64 and per_group % 32:
        w = w.copy()
        w[:, per_group - per_group % 32 :] = 0
    return F.conv2d(x, w, b, stride, padding, dilation, groups)


def conv2d_zeroes_last_column(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """A kernel tiled 16 output columns wide whose remainder tile never stores its last
    column once W_out > 32 (W_out = 49: column 48 stays 0)."""
    y = F.conv2d(x, w, b, stride, padding, dilation, groups)
    if y.shape[-1] > 32 and y.shape[-1] % 16:
        y[..., -1] = 0
    return y


def linear_drops_k_remainder(x, w, b=None):
    """A GEMM that runs its reduction in steps of 16 and, past 64 inputs, drops the last
    m % 16 of them (m = 130: inputs 128 and 129). The AV layer's 1728 = 108·16 hides it."""
    m = w.shape[0]
    if m > 64 and m % 16:
        keep = m - m % 16
        return F.linear(np.ascontiguousarray(x[:, :keep]), np.ascontiguousarray(w[:keep]), b)
    return F.linear(x, w, b)


def max_pool2d_repeats_last_row_tile(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    """A pool that computes output rows in tiles of 8 and, once H_out > 32, fills the rows of
    the last partial tile with a copy of the row before them."""
    y = F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    h = y.shape[-2]
    if h > 32 and h % 8:
        y[..., h - h % 8 :, :] = y[..., h - h % 8 - 1 : h - h % 8, :]
    return y


def conv2d_dilated_even_kernel_flipped(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """A dilated path that reads an even-width kernel's columns from the wrong end: only when
    dilation along W > 1 and kW is even, which no fixed case combines (the fuzzer finds it)."""
    d_w = dilation if isinstance(dilation, int) else dilation[-1]
    if d_w > 1 and w.shape[-1] % 2 == 0:
        w = np.ascontiguousarray(w[..., ::-1])
    return F.conv2d(x, w, b, stride, padding, dilation, groups)


# ------------------------------------------- bugs in the ops of modern CNNs (cases_modern.py)


def hardswish_backward_wrong_side_at_3(dy, x):
    """The middle piece's slope x/3 + 1/2 taken at x = 3 too (1.5·dy; torch: the right piece, dy)."""
    return np.where(x < -3, 0, np.where(x > 3, dy, dy * (x / 3 + 0.5)))


def group_norm_unbiased_variance(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Group norm dividing by √(unbiased variance + ε) (n − 1, as torch.var's default) where
    the norm takes the biased one (n): off by √(n/(n − 1)), worst for small groups."""
    n, c = x.shape[:2]
    g = x.reshape(n, num_groups, -1)
    xhat = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, ddof=1, keepdims=True) + eps)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    y = xhat.reshape(x.shape)
    y = y if weight is None else y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)


def _align_corners_off_by_one(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) bilinear weights with source o·(n_in − 1)/n_out: the off-by-one
    denominator (align_corners=True divides by n_out − 1)."""
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        src = o * (n_in - 1) / n_out
        i0 = min(int(src), n_in - 1)
        i1, t = min(i0 + 1, n_in - 1), src - i0
        m[o, i0] += 1 - t
        m[o, i1] += t
    return m


def interpolate_align_corners_off_by_one(
    x,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Bilinear with align_corners=True and a given size: the source scale (n_in − 1)/n_out
    instead of (n_in − 1)/(n_out − 1); every other mode is ref_cnn's."""
    if mode != "bilinear" or not align_corners or size is None:
        return F.interpolate(
            x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
        )
    mh = _align_corners_off_by_one(x.shape[-2], size[0])
    mw = _align_corners_off_by_one(x.shape[-1], size[1])
    return np.einsum("oh,...hw,pw->...op", mh, x, mw).astype(x.dtype)


def dropout_backward_unscaled(
    dy, x, p=0.5, training=True, inplace=False, *, mask=None, generator=None
):
    """Dropout's gradient as dy·m, the 1/(1 − p) of the forward's inverted scaling forgotten."""
    if not training or p == 0.0:
        return dy.copy()
    if p == 1.0:
        return dy * 0
    return dy * mask
