"""Compiled conv2d kernels (numba), the "numba" set's `conv2d` and `conv2d_backward` (private).

`ref_cnn._fast.backend` dispatches to them (numba installed, and the "numba" set chosen or
picked automatically on many threads). On many cores the NumPy kernels stop scaling: every
NumPy call takes the GIL back and the column matrices stream through memory. Here one
compiled region runs every task, each task's columns stay in its own cache-sized block, and
no task touches the GIL.

    correlate(x, w, b, g) → y                       IC-4: Y_i = B_i + Σ_j X_j ⋆ K_ij
    gradients(dy, x, w, g, need_dx) → dx, dw, db    IC-7, IC-10, IC-11, IC-5, IC-6

A task is one image's band of output rows (about `TASK_POSITIONS` output positions): it
copies that band's columns [AV-3] into memory of its own, (C·kH·kW, rows·W_out), multiplies
them by the weight matrix (BLAS, through numba's np.dot) and writes its rows of y. Layers
whose weight matrix outweighs their columns (`conv_numpy._weight_heavy`: ResNet-18's
512-channel layers) build the batch's columns first and cut the products by blocks of
channels instead, so that each task reads its rows of the weight matrix once. At stride 1
the input gradient is itself a correlation, of δ with the rotated filters
(`conv_numpy.flipped_geometry` states why); at other strides each task scatters its
column gradients back into its own image and channels. The weight gradient is a sum over
tasks: the tasks are cut into `WEIGHT_GROUPS` runs of consecutive tasks, each run adds its
products in order, and the runs' sums are added in run order. Every cut depends on the
shapes only, so results are the same for any thread count.
"""

from __future__ import annotations

import contextlib
import threading

import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls this BLAS)
from numba import njit, prange

from ref_cnn._fast import threads
from ref_cnn._fast.conv_numpy import (
    _finite,
    _flipped_weights,
    _sum,
    _transposed,
    _weight_heavy,
)

# Output positions per task: a band's columns stay in cache (docs/design.md, "Compiled
# tasks": 256 against 1024 positions).
TASK_POSITIONS = 256

# Runs of tasks whose weight-gradient products are summed separately (then in run order),
# at most, and the most memory their sums may take.
WEIGHT_GROUPS = 16
WEIGHT_PART_BYTES = 64 * 2**20

# Blocks of output channels (input channels for the input gradient at stride > 1) that a
# layer's products are cut into where its weight matrix outweighs its columns (as
# `conv_numpy.ROW_BLOCKS`): each block's task reads its rows of the weight matrix once.
CHANNEL_BLOCKS = 16

_lock = threading.Lock()  # one compiled region at a time (numba's workqueue layer needs it)
threads.rescan_blas()  # the BLAS library scipy just loaded is held to one thread too


@njit(nogil=True, cache=True, inline="always")
def _columns(x, n, r0, r1, wo, kh, kw, sh, sw, dh, dw, top, left):  # pragma: no cover
    """The columns of output rows [r0, r1) of image n [AV-3]: (C·kH·kW, (r1 − r0)·W_out),
    row (c, m, q) holding x_pad[n, c, r·s_h + m·d_h, z·s_w + q·d_w] at column (r − r0, z)."""
    c_in, h, w = x.shape[1], x.shape[2], x.shape[3]
    cols = np.empty((c_in * kh * kw, (r1 - r0) * wo), dtype=x.dtype)
    for c in range(c_in):
        for m in range(kh):
            for q in range(kw):
                k = (c * kh + m) * kw + q
                off = q * dw - left  # input column of output column z: z·s_w + off
                z0 = 0  # output columns [z0, z1) read the input; the others, padding
                while z0 < wo and z0 * sw + off < 0:
                    z0 += 1
                z1 = wo
                while z1 > z0 and (z1 - 1) * sw + off >= w:
                    z1 -= 1
                for r in range(r0, r1):
                    i = r * sh + m * dh - top  # the input row
                    base = (r - r0) * wo
                    if i < 0 or i >= h:
                        for z in range(wo):
                            cols[k, base + z] = 0
                        continue
                    for z in range(z0):
                        cols[k, base + z] = 0
                    if sw == 1:
                        cols[k, base + z0 : base + z1] = x[n, c, i, z0 + off : z1 + off]
                    else:
                        for z in range(z0, z1):
                            cols[k, base + z] = x[n, c, i, z * sw + off]
                    for z in range(z1, wo):
                        cols[k, base + z] = 0
    return cols


@njit(parallel=True, nogil=True, cache=True)
def _correlate(x, km, bias, y, kh, kw, sh, sw, dh, dw, top, left, rows):  # pragma: no cover
    """y (N, C_out, H_out, W_out) = km (C_out, C·kH·kW) × columns + bias, a band of `rows`
    output rows of one image per task [IC-4]."""
    n_img, c_out = x.shape[0], km.shape[0]
    ho, wo = y.shape[2], y.shape[3]
    bands = (ho + rows - 1) // rows
    yf = y.reshape((n_img, c_out, ho * wo))  # a band of rows is contiguous in each plane
    for t in prange(n_img * bands):
        n = t // bands
        r0 = (t % bands) * rows
        r1 = min(ho, r0 + rows)
        out = np.dot(km, _columns(x, n, r0, r1, wo, kh, kw, sh, sw, dh, dw, top, left))
        for o in range(c_out):  # (C_out, rows·W_out) → y[n, :, r0:r1], + B_i
            b_o, first = bias[o], r0 * wo
            for p in range(out.shape[1]):  # (a loop: an array expression would allocate)
                yf[n, o, first + p] = out[o, p] + b_o


@njit(parallel=True, nogil=True, cache=True)
def _weight_parts(x, dy, parts, kh, kw, sh, sw, dh, dw, top, left, rows):  # pragma: no cover
    """parts[g] (C_out, C·kH·kW) = Σ over run g of the tasks of δ_band · columnsᵀ [IC-5]."""
    n_img, c_out, ho, wo = dy.shape
    runs = parts.shape[0]
    bands = (ho + rows - 1) // rows
    tasks = n_img * bands
    dyf = dy.reshape((n_img, c_out, ho * wo))
    for g in prange(runs):
        acc = parts[g]
        acc[:] = 0
        for t in range(tasks * g // runs, tasks * (g + 1) // runs):
            n = t // bands
            r0 = (t % bands) * rows
            r1 = min(ho, r0 + rows)
            cols = _columns(x, n, r0, r1, wo, kh, kw, sh, sw, dh, dw, top, left)
            d = np.ascontiguousarray(dyf[n, :, r0 * wo : r1 * wo])  # δ's band, (C_out, ·)
            acc += np.dot(d, cols.T)


@njit(parallel=True, nogil=True, cache=True)
def _batch_columns(x, cols, kh, kw, sh, sw, dh, dw, top, left, ho, wo):  # pragma: no cover
    """cols (C·kH·kW, N·H_out·W_out) = every image's columns side by side [AV-3]."""
    p = ho * wo
    for n in prange(x.shape[0]):
        cols[:, n * p : (n + 1) * p] = _columns(x, n, 0, ho, wo, kh, kw, sh, sw, dh, dw, top, left)


@njit(parallel=True, nogil=True, cache=True)
def _channel_products(km, cols, bias, y, block):  # pragma: no cover
    """y[:, o0:o1] = km[o0:o1] · cols + bias, a block of output channels per task [IC-4]."""
    n_img, c_out = y.shape[0], y.shape[1]
    p = y.shape[2] * y.shape[3]
    yf = y.reshape((n_img, c_out, p))
    for t in prange((c_out + block - 1) // block):
        o0 = t * block
        o1 = min(c_out, o0 + block)
        out = np.dot(km[o0:o1], cols)  # (o1 − o0, N·H_out·W_out)
        for o in range(o0, o1):
            b_o = bias[o]
            for n in range(n_img):
                for q in range(p):
                    yf[n, o, q] = out[o - o0, n * p + q] + b_o


@njit(parallel=True, nogil=True, cache=True)
def _channel_weights(dy, cols, dw, block):  # pragma: no cover
    """dw[o0:o1] = δ[:, o0:o1] as (O_block, N·H_out·W_out) · colsᵀ, a block of output
    channels per task, the whole sum in one product [IC-5]."""
    n_img, c_out = dy.shape[0], dy.shape[1]
    p = dy.shape[2] * dy.shape[3]
    dyf = dy.reshape((n_img, c_out, p))
    for t in prange((c_out + block - 1) // block):
        o0 = t * block
        o1 = min(c_out, o0 + block)
        d = np.empty((o1 - o0, n_img * p), dtype=dy.dtype)
        for o in range(o0, o1):
            for n in range(n_img):
                d[o - o0, n * p : (n + 1) * p] = dyf[n, o]
        dw[o0:o1] = np.dot(d, cols.T)


@njit(parallel=True, nogil=True, cache=True)
def _scattered_input_gradient(
    dy, kmt, dx, kh, kw, sh, sw, dh, dw, top, left, block
):  # pragma: no cover
    """dx [IC-7, IC-10, IC-11] at any stride: for image n and input channels [c0, c1), the
    column gradients kmᵀ[rows of c0..c1) · δ[n] added back to the positions they were read
    from, filter offset by filter offset; padding positions are dropped. A task per
    (image, block of input channels), so no two tasks add to the same element."""
    n_img, c_in, h, w = dx.shape
    c_out, ho, wo = dy.shape[1], dy.shape[2], dy.shape[3]
    kk = kh * kw
    dyf = dy.reshape((n_img, c_out, ho * wo))
    blocks = (c_in + block - 1) // block
    for t in prange(n_img * blocks):
        n = t // blocks
        c0 = (t % blocks) * block
        c1 = min(c_in, c0 + block)
        dcols = np.dot(kmt[c0 * kk : c1 * kk], dyf[n])  # (C_block·kH·kW, H_out·W_out)
        for c in range(c0, c1):
            for i in range(h):
                for j in range(w):
                    dx[n, c, i, j] = 0
            for m in range(kh):
                for q in range(kw):
                    row = ((c - c0) * kh + m) * kw + q
                    for r in range(ho):
                        i = r * sh + m * dh - top
                        if i < 0 or i >= h:
                            continue
                        for z in range(wo):
                            j = z * sw + q * dw - left
                            if 0 <= j < w:
                                dx[n, c, i, j] += dcols[row, r * wo + z]


@contextlib.contextmanager
def region(blas: bool = True):
    """A compiled region on ref_cnn's thread count. blas: its tasks call BLAS, which then runs
    on one thread per task (`threads`); where BLAS can't be held to one thread, such a
    region runs on one thread."""
    n = threads.get_num_threads() if (threads.blas_limitable() or not blas) else 1
    with _lock, threads.one_blas_thread() if blas else contextlib.nullcontext():
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
        yield


def _rows(g_out_hw: tuple[int, int]) -> int:
    """Output rows per task: about TASK_POSITIONS positions, at least one row."""
    ho, wo = g_out_hw
    return max(1, min(ho, TASK_POSITIONS // max(wo, 1)))


def _args(g):
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    return kh, kw, sh, sw, dh, dw, g.padding[0][0], g.padding[1][0]


def _block(channels: int) -> int:
    return max(1, -(-channels // CHANNEL_BLOCKS))


def _batch_columns_of(x, g) -> np.ndarray:
    """The whole batch's columns, (C·kH·kW, N·H_out·W_out), built in one compiled region."""
    cols = np.empty((g.c_in * g.kernel[0] * g.kernel[1], g.n * g.out_hw[0] * g.out_hw[1]), x.dtype)
    _batch_columns(x, cols, *_args(g), *g.out_hw)
    return cols


def _forward(x, km, bias, y, g) -> None:
    """y = the correlation `g` of x with km (C_out, C·kH·kW) + bias, by bands of output rows
    or, for a weight-heavy layer (`conv_numpy._weight_heavy`), by blocks of output
    channels over the batch's columns."""
    if _weight_heavy(g, x.itemsize):
        _channel_products(km, _batch_columns_of(x, g), bias, y, _block(g.c_out))
    else:
        _correlate(x, km, bias, y, *_args(g), _rows(g.out_hw))


def correlate(x: np.ndarray, w: np.ndarray, b, g) -> np.ndarray:
    """`conv2d` for a checked geometry with groups = 1 [IC-4]."""
    y = np.empty(g.out_shape, dtype=x.dtype)
    bias = np.zeros(g.c_out, dtype=x.dtype) if b is None else np.ascontiguousarray(b)
    km = np.ascontiguousarray(w).reshape(g.c_out, -1)  # (C_out, C·kH·kW)
    with region():
        _forward(np.ascontiguousarray(x), km, bias, y, g)
    return y


def gradients(dy, x, w, g, need_dx: bool):
    """(dx, dw, db) of `conv2d` for a checked geometry with groups = 1; dx is None when not
    `need_dx`. At stride 1 dx is the correlation of δ with the rotated filters
    (`conv_numpy.flipped_geometry`; not for non-finite weights, see `_finite`); otherwise
    the column gradients are scattered back [IC-7, IC-10, IC-11].
    dw = Σ_n X_j ⋆ δ_i [IC-5], db = Σ_{n,h,w} δ_i [IC-6]."""
    dy, x = np.ascontiguousarray(dy), np.ascontiguousarray(x)
    km = np.ascontiguousarray(w).reshape(g.c_out, -1)  # (C_out, C·kH·kW)
    gt = _transposed(g) if need_dx else None
    dx = None if not need_dx else np.empty(x.shape, dtype=x.dtype)
    with region():
        if gt is not None and _finite(w):  # IC-7: Σ_i δ_i *_full K_ij, cropped (IC-11)
            wt = _flipped_weights(w, g).reshape(g.c_in, -1)  # (C, C_out·kH·kW)
            _forward(dy, wt, np.zeros(g.c_in, dtype=x.dtype), dx, gt)
        elif need_dx:  # IC-7 with IC-10: the column gradients scattered back
            kmt = np.ascontiguousarray(km.T)  # (C·kH·kW, C_out)
            _scattered_input_gradient(dy, kmt, dx, *_args(g), _block(g.c_in))
        if _weight_heavy(g, x.itemsize):  # IC-5: one product per block of output channels
            dw = np.empty(km.shape, dtype=x.dtype)
            _channel_weights(dy, _batch_columns_of(x, g), dw, _block(g.c_out))
        else:  # IC-5: a sum per run of tasks, then the runs in order
            dw = _weight_sum(dy, x, g, km.shape)
    return dx, dw.reshape(w.shape), dy.sum(axis=(0, 2, 3))  # IC-6: db = Σ_{n,h,w} δ_i


def _weight_sum(dy, x, g, shape) -> np.ndarray:
    rows = _rows(g.out_hw)
    tasks = g.n * -(-g.out_hw[0] // rows)
    part = shape[0] * shape[1] * x.itemsize
    runs = max(1, min(WEIGHT_GROUPS, tasks, WEIGHT_PART_BYTES // part))
    parts = np.empty((runs, *shape), dtype=x.dtype)
    _weight_parts(x, dy, parts, *_args(g), rows)
    return _sum(list(parts))  # the runs' sums, in run order
