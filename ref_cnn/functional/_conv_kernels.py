"""The tuned conv2d kernels behind `ref_cnn.functional.conv` (private).

The public module states the equations and keeps a readable version of each one
(`conv2d_readable`, `conv2d_backward_readable`); this module computes the same sums
faster, and the tests hold the two equal (and both equal to torch and the literal loops).

Two entry points, each taking an already checked geometry (`conv.ConvGeometry`):

    correlate(x, w, b, g) → y                 IC-4: Y_i = B_i + Σ_j X_j ⋆ K_ij
    gradients(dy, x, w, g, need_dx) → dx, dw, db  IC-5 / AV-14, IC-7 / IC-11, IC-6

How: the padded input is viewed as patches (`im2col.windows`), copied once into a column
matrix per group, and multiplied by the kernel matrix (BLAS). Big batches go a chunk of
images at a time (`COLUMN_BUDGET_BYTES`). At stride 1 (with no more output than input
channels) both gradients come from δ's column matrix: dx as a product with the flipped
kernel, dw as a product with x (`_flipped_geometry`); otherwise dw comes from x's column
matrix and dx is accumulated offset by offset over the kH·kW kernel positions. Intermediates
live in buffers kept between calls (`functional.scratch`); results never do.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ref_cnn.functional.im2col import pad_nchw, windows
from ref_cnn.functional.scratch import scratch
from ref_cnn.threads import parallel_map, spans

if TYPE_CHECKING:
    from ref_cnn.functional.conv import ConvGeometry

# Largest column matrix built at once; bigger batches are processed in chunks of images.
# (Its buffer is kept for the next call, see `scratch`.)
COLUMN_BUDGET_BYTES = 64 * 2**20

# Column bytes per chunk. The chunks run on ref_cnn's threads (`ref_cnn.threads`), each with
# its own work buffers; the cut depends on the shapes alone, so results don't depend on the
# thread count. Measured on 16 cores (layers (c), (d) of scripts/bench.py, 1 to 16 threads):
# 2–4 MiB is fastest; 1-image chunks of (d) lose 20–40 % at 16 threads to the GIL each
# NumPy call takes back, 16 MiB chunks 25–60 % (too few tasks, columns out of cache). On
# one thread, 4 MiB chunks beat the whole batch at once by 10–30 % ((c), (d), (e)).
TASK_COLUMN_BYTES = 4 * 2**20

# The gradients from δ's column matrix pay up to this many output channels per input channel
# (measured, float32 and float64: 10 % faster than x's columns and the scatter below with
# C_out = C_in, the same with C_out = 2·C_in, up to 21 % slower with C_out = 3·C_in).
FLIP_RATIO = 1


# ---------------------------------------------------------------- forward (IC-4)


def correlate(x: np.ndarray, w: np.ndarray, b, g: ConvGeometry) -> np.ndarray:
    """`conv2d` for a checked geometry: column matrix × kernel matrix, a chunk at a time."""
    y, km = np.empty(g.out_shape, dtype=x.dtype), _kernel_matrix(w, g)
    # More outputs than column rows (a 1-channel input, many filters): one product per image,
    # written straight into y, saves the product matrix (larger than the columns here).
    per_image = g.c_out >= g.c_in * g.kernel[0] * g.kernel[1]

    def chunk(task):  # one chunk of images, on one of ref_cnn's threads
        lo, hi, gc = task
        if per_image:
            out = y[lo:hi].reshape(hi - lo, g.groups, g.c_out // g.groups, -1)
            np.matmul(km, _columns(x[lo:hi], gc, per_image=True), out=out)
            if b is not None:
                y[lo:hi] += b.reshape(-1, 1, 1)  # IC-4: + B_i
        else:
            _multiply(km, x[lo:hi], gc, b, y[lo:hi])  # IC-4: B_i + Σ_j X_j ⋆ K_ij

    parallel_map(chunk, _chunks(g, x.itemsize))
    return y


def _columns(x: np.ndarray, g: ConvGeometry, per_image: bool = False) -> np.ndarray:
    """The im2col matrix of every group [AV-3]: (G, C_g·kH·kW, N·H_out·W_out), a copy.

    Rows are (channel, kernel row, kernel column), columns are (image, output row, output
    column): copying the strided patch view in this order reads whole output rows of the
    input at a time, and the product with the kernel matrix comes out channel-major.
    per_image: one matrix per image instead, (N, G, C_g·kH·kW, H_out·W_out), whose products
    come out in NCHW order.
    """
    (top, bottom), (left, right) = g.padding
    if top or bottom or left or right:
        shape = (g.n, g.c_in, g.in_hw[0] + top + bottom, g.in_hw[1] + left + right)
        x = pad_nchw(x, g.padding, out=scratch("padded", shape, x.dtype))
    view = windows(x, g.kernel, g.stride, g.dilation, g.out_hw)  # (N, C, H_o, W_o, kH, kW)
    n, (ho, wo), (kh, kw) = g.n, g.out_hw, g.kernel
    rows = (g.c_in // g.groups) * kh * kw
    if per_image:
        cols = scratch("cols", (n, g.c_in, kh, kw, ho, wo), x.dtype)
        np.copyto(cols, view.transpose(0, 1, 4, 5, 2, 3))
        return cols.reshape(n, g.groups, rows, ho * wo)
    cols = scratch("cols", (g.c_in, kh, kw, n, ho, wo), x.dtype)
    np.copyto(cols, view.transpose(1, 4, 5, 0, 2, 3))
    return cols.reshape(g.groups, rows, n * ho * wo)


def _chunks(g: ConvGeometry, itemsize: int) -> list[tuple[int, int, ConvGeometry]]:
    """(first image, end, geometry of the chunk) covering the batch: chunks of about
    TASK_COLUMN_BYTES of columns, at most COLUMN_BUDGET_BYTES, at least one image each. The
    cut depends on the shapes alone, never on the thread count (see `ref_cnn.threads`)."""
    per_image = (g.c_in * g.kernel[0] * g.kernel[1]) * (g.out_hw[0] * g.out_hw[1]) * itemsize
    per_image = max(per_image, 1)
    step = max(1, min(round(TASK_COLUMN_BYTES / per_image), COLUMN_BUDGET_BYTES // per_image))
    if step >= g.n:
        return [(0, g.n, g)]
    return [(lo, hi, dataclasses.replace(g, n=hi - lo)) for lo, hi in spans(g.n, step)]


def _sum(parts: list[np.ndarray]) -> np.ndarray:
    """Σ of the chunks' partial results, in chunk order (the same for any thread count)."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def _kernel_matrix(w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(C_out, C_g, kH, kW) → (G, C_out/G, C_g·kH·kW), the left operand of the product."""
    return w.reshape(g.groups, g.c_out // g.groups, -1)


def _to_nchw(prod: np.ndarray, g: ConvGeometry, b, y: np.ndarray) -> None:
    """(G, C_out/G, N·H_out·W_out) → y (N, C_out, H_out, W_out), adding the bias on the way."""
    ho, wo = g.out_hw
    src = prod.reshape(g.c_out, g.n, ho * wo).transpose(1, 0, 2)  # (N, C_out, H_o·W_o) view
    if b is None:
        y.reshape(g.n, g.c_out, ho * wo)[...] = src
    else:  # IC-4: + B_i (tied: one per channel), in the same pass as the transpose
        np.add(src, b.reshape(1, -1, 1), out=y.reshape(g.n, g.c_out, ho * wo))


def _from_nchw(dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(N, C_out, H_out, W_out) → (G, C_out/G, N·H_out·W_out), inverse of `_to_nchw`."""
    out = scratch("outputs", (g.c_out, g.n, *g.out_hw), dy.dtype)  # as the forward's product
    np.copyto(out, dy.transpose(1, 0, 2, 3))
    return out.reshape(g.groups, g.c_out // g.groups, -1)


def _multiply(km: np.ndarray, x: np.ndarray, g: ConvGeometry, b, y: np.ndarray) -> np.ndarray:
    """y (N, C_out, H_out, W_out) = kernel matrix × column matrix of x (+ b), one chunk.

    Returns the column matrix (a work buffer, valid until the next call that takes one).
    """
    cols = _columns(x, g)
    prod = np.matmul(km, cols, out=scratch("outputs", (*km.shape[:2], cols.shape[2]), x.dtype))
    _to_nchw(prod, g, b, y)
    return cols


# ---------------------------------------------------------------- backward (IC-5, IC-7)


def gradients(dy: np.ndarray, x: np.ndarray, w: np.ndarray, g: ConvGeometry, need_dx: bool):
    """(dx, dw, db) of `conv2d` for a checked geometry; dx is None when not `need_dx`.

    dx = Σ_i δ_i *_full K_ij cropped by the padding (IC-7, IC-11); dw = Σ_n X_j ⋆ δ_i (IC-5);
    db = Σ_{n,h,w} δ_i (IC-6). Each chunk of images adds its part of dw and db.
    """
    flipped = flipped_geometry(g) if need_dx else None
    if flipped is not None:  # stride 1: δ's column matrix serves both gradients
        return _flipped_gradients(dy, x, w, g, flipped)
    km = _kernel_matrix(w, g)
    dx = np.empty(x.shape, dtype=x.dtype) if need_dx else None

    def chunk(task):  # one chunk of images: its part of dw and db, and its images' dx
        lo, hi, gc = task
        dyg = _from_nchw(dy[lo:hi], gc)  # (G, O_g, N·H_o·W_o)
        # IC-5 / AV-14: ∂E/∂K = X ⋆ δ, i.e. δ·colsᵀ summed over the batch and positions
        dw = dyg @ _columns(x[lo:hi], gc).transpose(0, 2, 1)
        if need_dx:  # IC-7 by scatter-adds
            shape = (g.groups, km.shape[2], dyg.shape[2])
            # the column matrix is spent: its buffer takes the column gradients
            dcols = np.matmul(km.transpose(0, 2, 1), dyg, out=scratch("cols", shape, x.dtype))
            _col2im(dcols, gc, dx[lo:hi])
        return dw, dyg.sum(axis=2)  # IC-6: db, Σ over this chunk's n, h, w

    parts = parallel_map(chunk, _chunks(g, x.itemsize))
    dw, db = (_sum([p[i] for p in parts]) for i in (0, 1))
    return dx, dw.reshape(w.shape), db.reshape(-1)


def _flipped_gradients(dy, x, w, g: ConvGeometry, gt: ConvGeometry):
    """dx and dw at stride 1 from one column matrix, that of δ [IC-5, IC-7, IC-11].

    With δ zero-padded and the kernel flipped (`flipped_geometry`), row (i, m', q') and
    column (n, y, z) of δ's column matrix hold δ_pad[n, i, y + m'·d_h, z + q'·d_w]. Then
        dx = K_flipped · cols                          (IC-7: the full convolution, cropped)
        X · colsᵀ [j, (i, m', q')] = ∂E/∂K[i, j, kH − 1 − m', kW − 1 − q']   (IC-5)
    since δ_pad[n, i, y + m'·d_h, …] = δ[n, i, y − m·d_h + p_h, …] with m = kH − 1 − m'.
    """
    kh, kw = g.kernel
    og, cg = g.c_out // g.groups, g.c_in // g.groups
    kt = _kernel_matrix(_flipped_kernel(w, g), gt)  # (G, C_g, O_g·kH·kW)
    dx = np.empty(x.shape, dtype=x.dtype)

    def chunk(task):  # one chunk of images: their dx, and its part of dw and db
        lo, hi, gc = task
        cols = _multiply(kt, dy[lo:hi], gc, None, dx[lo:hi])  # IC-7; cols (G, O_g·kH·kW, N·H·W)
        # δ's padded copy is spent: its buffer takes x channel-major, (G, C_g, N·H·W)
        xm = scratch("padded", (g.c_in, hi - lo, *g.in_hw), x.dtype)
        np.copyto(xm, x[lo:hi].transpose(1, 0, 2, 3))
        dwt = xm.reshape(g.groups, cg, -1) @ cols.transpose(0, 2, 1)  # IC-5
        return dwt, dy[lo:hi].sum(axis=(0, 2, 3))  # IC-6: db over this chunk's n, h, w

    parts = parallel_map(chunk, _chunks(gt, x.itemsize))
    dwt, db = (_sum([p[i] for p in parts]) for i in (0, 1))
    dw = dwt.reshape(g.groups, cg, og, kh, kw)[..., ::-1, ::-1].transpose(0, 2, 1, 3, 4)
    return dx, np.ascontiguousarray(dw).reshape(g.c_out, cg, kh, kw), db


def flipped_geometry(g: ConvGeometry) -> ConvGeometry | None:
    """At stride 1 the input gradient Σ_i δ_i *_full K_ij (IC-7), cropped by the padding
    (IC-11), is itself a correlation: δ zero-padded by d·(k − 1) − p on each side, with every
    kernel rotated by 180° and input and output channels swapped; the same column matrix of δ
    gives dw (`_flipped_gradients`), so the backward pass builds one column matrix instead of
    x's and then kH·kW scatter-adds. Returns that correlation's geometry, or None where it
    does not apply (stride > 1, padding beyond the kernel's reach) or does not pay (more than
    FLIP_RATIO output channels per input channel: δ's column matrix has C_out·kH·kW rows,
    x's C_in·kH·kW)."""
    reach = [d * (k - 1) for k, d in zip(g.kernel, g.dilation, strict=True)]
    pad = tuple((r - a, r - b) for (a, b), r in zip(g.padding, reach, strict=True))
    if g.stride != (1, 1) or min(min(p) for p in pad) < 0 or g.c_out > FLIP_RATIO * g.c_in:
        return None
    return dataclasses.replace(
        g, c_in=g.c_out, c_out=g.c_in, padding=pad, in_hw=g.out_hw, out_hw=g.in_hw
    )


def _flipped_kernel(w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(C_out, C_g, kH, kW) → (C_in, C_out/G, kH, kW): wt[g·C_g + j, i, m, q] =
    w[g·O_g + i, j, kH − 1 − m, kW − 1 − q], the kernel of `flipped_geometry`."""
    kh, kw = g.kernel
    wg = w.reshape(g.groups, g.c_out // g.groups, g.c_in // g.groups, kh, kw)[..., ::-1, ::-1]
    return np.ascontiguousarray(wg.transpose(0, 2, 1, 3, 4)).reshape(g.c_in, -1, kh, kw)


def _col2im(dcols: np.ndarray, g: ConvGeometry, dx: np.ndarray) -> None:
    """Scatter-add column gradients back to the input [IC-7, IC-10, IC-11].

    dcols: (G, C_g·kH·kW, N·H_out·W_out); the result goes to dx (N, C_in, H, W). Each kernel
    offset (m, q) adds its slice to the strided positions it read in the forward pass; the
    sum over offsets is the full convolution of δ with K. Cropping the padding at the end
    is IC-11.
    """
    (top, bottom), (left, right) = g.padding
    h, w = g.in_hw
    ho, wo = g.out_hw
    kh, kw = g.kernel
    (sh, sw), (dh, dw) = g.stride, g.dilation
    d = dcols.reshape(g.c_in, kh, kw, g.n, ho, wo)  # (C, kH, kW, N, H_o, W_o)
    # the padded input is spent: its buffer takes the padded input gradient
    dxp = scratch("padded", (g.c_in, g.n, h + top + bottom, w + left + right), dx.dtype)
    dxp.fill(0)  # channel-major
    for m in range(kh):
        for q in range(kw):
            r0, c0 = m * dh, q * dw
            dxp[:, :, r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw] += d[
                :, m, q
            ]
    # IC-11: crop P on each side; back to (N, C, H, W)
    np.copyto(dx, dxp[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3))
