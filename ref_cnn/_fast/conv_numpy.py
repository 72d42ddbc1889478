"""The tuned NumPy conv2d kernels, the "numpy" set's `conv2d` and `conv2d_backward` (private).

The public ops in `ref_cnn.functional.conv` are the equations; this module computes the same
sums faster (`ref_cnn._fast.backend` dispatches to it), and the tests hold the two equal
(and both equal to torch and the literal loops).

Two entry points, each taking an already checked geometry (`conv.ConvGeometry`):

    correlate(x, w, b, g) → y                 IC-4: Y_i = B_i + Σ_j X_j ⋆ K_ij
    gradients(dy, x, w, g, need_dx) → dx, dw, db  IC-5 / AV-14, IC-7 / IC-11, IC-6

How: the padded input is viewed as patches (`im2col.windows`), copied once into a column
matrix per group, and multiplied by the weight matrix (BLAS); the forward pass multiplies
each image's matrix on its own, straight into y. Big batches go a chunk of images at a time
(`COLUMN_BUDGET_BYTES`). Narrow layers with many input channels and few output channels
build the matrix channel-last instead, one row per output position (`_channels_last`). At
stride 1 (with at most FLIP_RATIO output channels per input channel) both gradients come
from δ's column matrix: dx as a product with the flipped filters, dw as a product with x
(`flipped_geometry`); otherwise dw comes from x's column matrix and dx is accumulated offset
by offset over the kH·kW filter positions. Intermediates live in buffers kept between calls
(`scratch`), one role each; results never do. docs/design.md has the measurements behind the
constants below.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ref_cnn._fast import threads
from ref_cnn._fast.products import product
from ref_cnn._fast.scratch import scratch
from ref_cnn._fast.threads import grain, parallel_map, spans
from ref_cnn.functional.im2col import pad_nchw, windows

if TYPE_CHECKING:
    from ref_cnn.functional.conv import ConvGeometry

# Largest column matrix built at once; bigger batches are processed in chunks of images.
COLUMN_BUDGET_BYTES = 64 * 2**20

# Column bytes per task (a chunk of images, on ref_cnn's threads), cut by shape alone so the
# thread count changes no result. 2–4 MiB is fastest (docs/design.md, "Chunks").
TASK_COLUMN_BYTES = 4 * 2**20

# Output channels per input channel up to which both gradients come from δ's column matrix
# (`flipped_geometry`); beyond, x's columns and the scatter (docs/design.md, "Flip").
FLIP_RATIO = 2

# Where the column matrix is built channel-last (`_columns_last`): one group of at least
# CHANNELS_LAST_MIN input channels, at most CHANNELS_LAST_MAX_OUT output channels (a thin
# product, so the copy is a large part of the work) and outputs at most
# CHANNELS_LAST_MAX_WIDTH wide (the NCHW layout's runs of W_out values are short)
# (docs/design.md, "Channel-last columns").
CHANNELS_LAST_MIN = 16
CHANNELS_LAST_MAX_OUT = 64
CHANNELS_LAST_MAX_WIDTH = 16

# Blocks of channels that a weight-heavy layer's products are cut into, each reading its
# rows of the weight matrix once (docs/design.md, "Row blocks").
ROW_BLOCKS = 8


# The work in one byte of columns (its copy, plus 2·C_out/G multiply-adds per element, ~32 of
# which cost as much as building it), for the smallest task (`threads.MIN_TASK_BYTES`).
def _work_per_byte(g: ConvGeometry) -> float:
    return 1 + (g.c_out // g.groups) / 32


# ---------------------------------------------------------------- forward (IC-4)


def correlate(x: np.ndarray, w: np.ndarray, b, g: ConvGeometry) -> np.ndarray:
    """`conv2d` for a checked geometry: column matrix × weight matrix, a piece at a time."""
    y, km = np.empty(g.out_shape, dtype=x.dtype), _weight_matrix(w, g)
    if _weight_heavy(g, x.itemsize):  # split the product by output channels instead
        cols = _batch_columns(x, g)

        def channels(block):  # output channels [o0, o1) of every image
            o0, o1 = block
            gb, bb = dataclasses.replace(g, c_out=o1 - o0), None if b is None else b[o0:o1]
            _product_to_nchw(km[:, o0:o1], cols, gb, bb, y[:, o0:o1])

        parallel_map(channels, _row_blocks(g.c_out))
        return y

    kmt = _weight_matrix_last(w) if _channels_last(g) and not _per_image(g) else None

    def run(p: Piece):  # one piece of the output, on one of ref_cnn's threads
        if kmt is not None:
            _multiply_last(kmt, p.input(x), p.g, b, p.output(y))  # IC-4, channel-last columns
        elif p.whole_images:  # one product per image, written straight into y
            positions = g.out_hw[0] * g.out_hw[1]  # (not -1: an empty batch has size 0)
            out = y[p.lo : p.hi].reshape(p.g.n, g.groups, g.c_out // g.groups, positions)
            np.matmul(km, _columns(p.input(x), p.g, per_image=True), out=out)
            if b is not None:
                p.output(y)[...] += b.reshape(-1, 1, 1)  # IC-4: + B_i
        else:  # a band of one image's output rows: one product, then into y's rows
            _multiply(km, p.input(x), p.g, b, p.output(y))  # IC-4: B_i + Σ_j X_j ⋆ K_ij

    parallel_map(run, pieces(g, x.itemsize))
    return y


def _per_image(g: ConvGeometry) -> bool:
    """Whether `correlate` prefers one product per image (NCHW out) to channel-last columns:
    where there are at least as many output channels as column rows (C_out ≥ C_in·kH·kW, a
    1×1 layer that widens), a product per image is as fast and needs no product matrix."""
    return g.c_out >= g.c_in * g.kernel[0] * g.kernel[1]


def _columns(x: np.ndarray, g: ConvGeometry, per_image: bool = False, out=None) -> np.ndarray:
    """The im2col matrix of every group [AV-3]: (G, C_g·kH·kW, N·H_out·W_out), a copy.

    Rows are (channel, filter row, filter column), columns are (image, output row, output
    column): copying the strided patch view in this order reads whole output rows of the
    input at a time, and the product with the weight matrix comes out channel-major.
    per_image: one matrix per image instead, (N, G, C_g·kH·kW, H_out·W_out), whose products
    come out in NCHW order. out: where to copy the columns, a (C, kH, kW, N, H_out, W_out)
    array or view (else this thread's work buffer).
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
    if out is not None:
        np.copyto(out, view.transpose(1, 4, 5, 0, 2, 3))
        return out
    cols = scratch("cols", (g.c_in, kh, kw, n, ho, wo), x.dtype)
    np.copyto(cols, view.transpose(1, 4, 5, 0, 2, 3))
    return cols.reshape(g.groups, rows, n * ho * wo)


def _channels_last(g: ConvGeometry) -> bool:
    """Whether `g`'s pieces build their column matrix channel-last (`_columns_last`): each row
    then copies runs of kW·C values where the NCHW layout copies runs of W_out, and the
    product comes out NHWC, to be transposed into y. It pays where the copy is a large part of
    the work (few output channels) and the NCHW runs are short (a narrow output); see the
    constants above and docs/design.md, "Channel-last columns"."""
    return (
        g.groups == 1
        and g.c_in >= CHANNELS_LAST_MIN
        and g.c_out <= CHANNELS_LAST_MAX_OUT
        and g.out_hw[1] <= CHANNELS_LAST_MAX_WIDTH
    )


def _columns_last(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The im2col matrix of `x` (groups = 1) with one row per output position [AV-3]:
    (N·H_out·W_out, kH·kW·C), a copy in this thread's work buffer,

        cols[(n, i, j), (m, q, c)] = x_pad[n, c, i·s_h + m·d_h, j·s_w + q·d_w],

    the transpose of `_columns`'s matrix with its rows in (m, q, c) order. x (N, C, H, W) is
    first copied into a zero-padded channel-last buffer (N, H_p, W_p, C); at dilation 1 the
    kW·C values of one filter row are then one contiguous run of it.
    """
    xp = _padded_last(x, g)
    n, c, (ho, wo), (kh, kw) = g.n, g.c_in, g.out_hw, g.kernel
    (sh, sw), (dh, dw), s = g.stride, g.dilation, xp.strides
    view = as_strided(  # (N, H_out, W_out, kH, kW, C)
        xp,
        (n, ho, wo, kh, kw, c),
        (s[0], sh * s[1], sw * s[2], dh * s[1], dw * s[2], s[3]),
        writeable=False,
    )
    cols = scratch("cols", view.shape, x.dtype)
    np.copyto(cols, view)
    return cols.reshape(n * ho * wo, kh * kw * c)


def _padded_last(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """x (N, C, H, W) zero-padded by `g.padding` [MB-3], channel-last in this thread's work
    buffer: (N, top + H + bottom, left + W + right, C)."""
    (top, bottom), (left, right) = g.padding
    h, w = g.in_hw
    xp = scratch("padded", (g.n, top + h + bottom, left + w + right, g.c_in), x.dtype)
    for border in (xp[:, :top], xp[:, top + h :], xp[:, :, :left], xp[:, :, left + w :]):
        border.fill(0)
    np.copyto(xp[:, top : top + h, left : left + w], x.transpose(0, 2, 3, 1))
    return xp


def _weight_matrix_last(w: np.ndarray) -> np.ndarray:
    """(C_out, C_in, kH, kW) → (kH·kW·C_in, C_out), rows in `_columns_last`'s (m, q, c) order:
    the right operand of the channel-last product."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(-1, w.shape[0])


def _multiply_last(kmt: np.ndarray, x: np.ndarray, g: ConvGeometry, b, y: np.ndarray):
    """y (N, C_out, H_out, W_out) = channel-last column matrix of x × kmt (+ b), one piece
    (groups = 1) [IC-4]: the product is (N·H_out·W_out, C_out), NHWC, transposed into y.

    Returns the column matrix (a work buffer, valid until the next call that takes one).
    """
    cols = _columns_last(x, g)
    prod = np.matmul(cols, kmt, out=scratch("outputs", (cols.shape[0], kmt.shape[1]), x.dtype))
    _to_nchw_last(prod, g, b, y)
    return cols


def _to_nchw_last(prod: np.ndarray, g: ConvGeometry, b, y: np.ndarray) -> None:
    """(N·H_out·W_out, C_out) → y (N, C_out, H_out, W_out), then the bias added in place."""
    np.copyto(y, prod.reshape(g.n, *g.out_hw, -1).transpose(0, 3, 1, 2))
    if b is not None:
        y += b.reshape(-1, 1, 1)  # IC-4: + B_i


def _weight_heavy(g: ConvGeometry, itemsize: int) -> bool:
    """Whether the weight matrix is larger than the whole batch's column matrix (late layers
    of a deep network: many channels, small images, small batch). Pieces of the output would
    each read the whole weight matrix again for few columns; these layers build the column
    matrix first (in parallel) and cut the products by output channels instead, each task
    reading its rows of the weight matrix once (`_batch_columns`, `_row_blocks`)."""
    weights = g.c_out * (g.c_in // g.groups) * g.kernel[0] * g.kernel[1]
    columns = g.c_in * g.kernel[0] * g.kernel[1] * g.n * g.out_hw[0] * g.out_hw[1]
    return g.groups == 1 and 0 < columns <= weights and columns * itemsize <= COLUMN_BUDGET_BYTES


def _batch_columns(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The column matrix of the whole batch, (1, C·kH·kW, N·H_out·W_out) (groups = 1), a
    fresh array built piece by piece in parallel, each piece copying its own columns."""
    kh, kw = g.kernel
    cols = np.empty((g.c_in, kh, kw, g.n, *g.out_hw), dtype=x.dtype)
    parallel_map(
        lambda p: _columns(p.input(x), p.g, out=cols[:, :, :, p.lo : p.hi, p.r0 : p.r1]),
        pieces(g, x.itemsize),
        blas=False,
    )
    return cols.reshape(1, g.c_in * kh * kw, -1)


def _row_blocks(rows: int) -> list[tuple[int, int]]:
    """Blocks of a product's rows (output channels): ROW_BLOCKS of them, at least 8 rows
    each (the cut depends on the count alone)."""
    return spans(rows, max(8, -(-rows // ROW_BLOCKS)))


@dataclasses.dataclass(frozen=True)
class Piece:
    """Images [lo, hi) and output rows [r0, r1) of a conv: a correlation of its own, of input
    rows [i0, i1) with padding trimmed to what those output rows read (`g`)."""

    lo: int
    hi: int
    r0: int
    r1: int
    i0: int
    i1: int
    g: ConvGeometry
    whole_images: bool  # every output row of its images

    def input(self, x: np.ndarray) -> np.ndarray:
        return x[self.lo : self.hi, :, self.i0 : self.i1]

    def output(self, y: np.ndarray) -> np.ndarray:
        return y[self.lo : self.hi, :, self.r0 : self.r1]


def _band(g: ConvGeometry, lo: int, hi: int, r0: int, r1: int) -> Piece:
    """The piece of images [lo, hi), output rows [r0, r1). Output row r reads padded rows
    r·s_h + m·d_h (m < kH), i.e. input rows from r0·s_h − top to (r1 − 1)·s_h + (kH − 1)·d_h − top;
    the part of that range outside the input is the piece's own padding."""
    (sh, dh), kh, h = (g.stride[0], g.dilation[0]), g.kernel[0], g.in_hw[0]
    a, e = r0 * sh - g.padding[0][0], (r1 - 1) * sh + (kh - 1) * dh - g.padding[0][0] + 1
    i0 = min(max(a, 0), h)
    i1 = min(max(e, i0), h)  # [i0, i1) is empty where the rows read only padding
    top = min(i0 - a, e - a) if i0 > a else 0
    piece = dataclasses.replace(
        g,
        n=hi - lo,
        padding=((top, (e - a) - top - (i1 - i0)), g.padding[1]),
        in_hw=(i1 - i0, g.in_hw[1]),
        out_hw=(r1 - r0, g.out_hw[1]),
    )
    return Piece(lo, hi, r0, r1, i0, i1, piece, r0 == 0 and r1 == g.out_hw[0])


def _image_step(g: ConvGeometry, itemsize: int) -> tuple[int, int, float]:
    """(images per chunk, column bytes of one image, work per column byte) for `pieces` and
    `_channel_blocks`: chunks of about TASK_COLUMN_BYTES (`threads.grain`), at most
    COLUMN_BUDGET_BYTES, at least one image."""
    per_image = max(g.c_in * g.kernel[0] * g.kernel[1] * g.out_hw[0] * g.out_hw[1] * itemsize, 1)
    weight = _work_per_byte(g)
    step = grain(g.n, per_image, TASK_COLUMN_BYTES, weight)
    return min(step, max(1, COLUMN_BUDGET_BYTES // per_image)), per_image, weight


def pieces(g: ConvGeometry, itemsize: int) -> list[Piece]:
    """Pieces covering the output of `g`, each with about TASK_COLUMN_BYTES of columns (at
    most COLUMN_BUDGET_BYTES): chunks of whole images or, where the batch has fewer than
    `threads.MIN_TASKS` images and one image's columns are more than a task, bands of output
    rows of one image (no piece under `threads.MIN_TASK_BYTES` of work). The cut depends on
    the shapes alone, never on the thread count (see `ref_cnn._fast.threads`)."""
    ho = g.out_hw[0]
    step, per_image, weight = _image_step(g, itemsize)
    row = max(per_image // ho, 1)  # column bytes per output row
    chunks = spans(g.n, step)
    if step > 1 or not 0 < g.n < threads.MIN_TASKS:  # (an empty batch: one empty piece)
        return [_band(g, lo, hi, 0, ho) for lo, hi in chunks]
    bands = max(-(-threads.MIN_TASKS // g.n), -(-per_image // TASK_COLUMN_BYTES))  # per image
    rows = min(max(1, round(TASK_COLUMN_BYTES / row)), -(-ho // bands))
    rows = max(rows, math.ceil(threads.MIN_TASK_BYTES / (row * weight)))  # no tiny bands
    return [_band(g, n, n + 1, r0, r1) for n in range(g.n) for r0, r1 in spans(ho, rows)]


def _sum(parts: list[np.ndarray]) -> np.ndarray:
    """Σ of the chunks' partial results, in chunk order (the same for any thread count)."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def _weight_matrix(w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(C_out, C_g, kH, kW) → (G, C_out/G, C_g·kH·kW), the left operand of the product."""
    return w.reshape(g.groups, g.c_out // g.groups, -1)


def _to_nchw(prod: np.ndarray, g: ConvGeometry, b, y: np.ndarray) -> None:
    """(G, C_out/G, N·H_out·W_out) → y (N, C_out, H_out, W_out), adding the bias on the way.
    y may be a view (a piece's rows of the whole output)."""
    ho, wo = g.out_hw
    src = prod.reshape(g.c_out, g.n, ho, wo).transpose(1, 0, 2, 3)  # (N, C_out, H_o, W_o) view
    if b is None:
        np.copyto(y, src)
    else:  # IC-4: + B_i (tied: one per channel), in the same pass as the transpose
        np.add(src, b.reshape(1, -1, 1, 1), out=y)


def _from_nchw(dy: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(N, C_out, H_out, W_out) → (G, C_out/G, N·H_out·W_out), inverse of `_to_nchw`."""
    out = scratch("delta", (g.c_out, g.n, *g.out_hw), dy.dtype)  # channel-major δ
    np.copyto(out, dy.transpose(1, 0, 2, 3))
    return out.reshape(g.groups, g.c_out // g.groups, -1)


def _multiply(km: np.ndarray, x: np.ndarray, g: ConvGeometry, b, y: np.ndarray) -> np.ndarray:
    """y (N, C_out, H_out, W_out) = weight matrix × column matrix of x (+ b), one chunk.

    Returns the column matrix (a work buffer, valid until the next call that takes one).
    """
    cols = _columns(x, g)
    _product_to_nchw(km, cols, g, b, y)
    return cols


def _product_to_nchw(km: np.ndarray, cols: np.ndarray, g: ConvGeometry, b, y: np.ndarray):
    """y (N, C_out, H_out, W_out) = km (G, C_out/G, K) × cols (G, K, N·H_out·W_out) (+ b),
    the product in this thread's work buffer on its way to y (`_to_nchw`)."""
    shape = (*km.shape[:2], cols.shape[2])
    _to_nchw(np.matmul(km, cols, out=scratch("outputs", shape, cols.dtype)), g, b, y)


# ---------------------------------------------------------------- backward (IC-5, IC-7)


def gradients(dy: np.ndarray, x: np.ndarray, w: np.ndarray, g: ConvGeometry, need_dx: bool):
    """(dx, dw, db) of `conv2d` for a checked geometry; dx is None when not `need_dx`.

    dx = Σ_i δ_i *_full K_ij cropped by the padding (IC-7, IC-11); dw = Σ_n X_j ⋆ δ_i (IC-5);
    db = Σ_{n,h,w} δ_i (IC-6). Each task takes a chunk of images and a block of input
    channels (`_channel_blocks`): that block's columns of dw (the chunks' parts added in
    chunk order), and its channels of the chunk's dx.
    """
    flipped = flipped_geometry(g) if need_dx else None
    if flipped is not None and _finite(w) and _finite(x):  # stride 1: δ's columns serve both
        return _flipped_gradients(dy, x, w, g, flipped)
    km = _weight_matrix(w, g)
    kk = g.kernel[0] * g.kernel[1]
    dx = np.empty(x.shape, dtype=x.dtype) if need_dx else None
    chunks, blocks = _channel_blocks(g, x.itemsize)
    tasks = [(lo, hi, c0, c1) for lo, hi in chunks for c0, c1 in blocks]

    def run(task):  # images [lo, hi), input channels [c0, c1)
        lo, hi, c0, c1 = task
        gc = dataclasses.replace(g, n=hi - lo, c_in=c1 - c0)
        dyg = _from_nchw(dy[lo:hi], gc)  # (G, O_g, N·H_o·W_o)
        # IC-5 / AV-14: ∂E/∂K = X ⋆ δ, i.e. δ·colsᵀ summed over the batch and positions,
        # computed as its transpose cols·δᵀ (the faster shape, docs/design.md "Product shapes")
        dw = product(_columns(x[lo:hi, c0:c1], gc), dyg.transpose(0, 2, 1)).transpose(0, 2, 1)
        if need_dx:  # IC-7 by scatter-adds
            kmc = km if len(blocks) == 1 else km[:, :, c0 * kk : c1 * kk]
            shape = (g.groups, kmc.shape[2], dyg.shape[2])
            dcols = scratch("column_grads", shape, x.dtype)  # ∂E/∂cols, (G, C_g·kH·kW, ·)
            np.matmul(kmc.transpose(0, 2, 1), dyg, out=dcols)
            _col2im(dcols, gc, dx[lo:hi, c0:c1])
        return dw, dyg.sum(axis=2) if c0 == 0 else None  # IC-6: db, Σ over n, h, w

    parts = dict(zip(tasks, parallel_map(run, tasks), strict=True))
    db = _sum([parts[lo, hi, 0, blocks[0][1]][1] for lo, hi in chunks])
    dw = [_sum([parts[lo, hi, c0, c1][0] for lo, hi in chunks]) for c0, c1 in blocks]
    dw = dw[0] if len(dw) == 1 else np.concatenate(dw, axis=2)
    return dx, dw.reshape(w.shape), db.reshape(-1)


def _channel_blocks(g: ConvGeometry, itemsize: int):
    """(chunks of images, blocks of input channels) for `gradients`: whole-image chunks as
    `pieces` cuts them and, where that gives fewer than `threads.MIN_TASKS` chunks (and
    groups = 1), the input channels cut into blocks as well, each block's dx and columns of
    dw its own (no task adds to another's). The cut depends on the shapes alone."""
    step, per_image, weight = _image_step(g, itemsize)
    chunks = spans(g.n, step)
    if len(chunks) >= threads.MIN_TASKS or g.groups > 1:
        return chunks, [(0, g.c_in)]
    per_channel = max(per_image // g.c_in * min(step, g.n), 1)  # column bytes, one channel
    size = -(-g.c_in // -(-threads.MIN_TASKS // len(chunks)))
    size = max(size, math.ceil(threads.MIN_TASK_BYTES / (per_channel * weight)))
    return chunks, spans(g.c_in, size)


def _flipped_gradients(dy, x, w, g: ConvGeometry, gt: ConvGeometry):
    """dx and dw at stride 1 from one column matrix, that of δ [IC-5, IC-7, IC-11].

    With δ zero-padded and the filters flipped (`flipped_geometry`), row (i, m', q') and
    column (n, y, z) of δ's column matrix hold δ_pad[n, i, y + m'·d_h, z + q'·d_w]. Then
        dx = K_flipped · cols                          (IC-7: the full convolution, cropped)
        cols · Xᵀ [(i, m', q'), j] = ∂E/∂K[i, j, kH − 1 − m', kW − 1 − q']   (IC-5)
    since δ_pad[n, i, y + m'·d_h, …] = δ[n, i, y − m·d_h + p_h, …] with m = kH − 1 − m'.
    """
    kh, kw = g.kernel
    og, cg = g.c_out // g.groups, g.c_in // g.groups
    dx = np.empty(x.shape, dtype=x.dtype)
    if not _weight_heavy(gt, x.itemsize) and _channels_last(gt):
        dw, db = _piecewise_flipped_last(dy, x, w, g, gt, dx)
        return dx, dw, db
    kt = _weight_matrix(_flipped_weights(w, g), gt)  # (G, C_g, O_g·kH·kW)
    if _weight_heavy(gt, x.itemsize):  # split by input channels: each task owns its rows
        cols = _batch_columns(dy, gt)  # (1, O·kH·kW, N·H·W)
        dwt = np.empty((cols.shape[1], g.c_in), dtype=x.dtype)  # (O·kH·kW, C_in)

        def channels(block):  # input channels [c0, c1): their dx and their columns of dwt
            c0, c1 = block
            gc = dataclasses.replace(gt, c_out=c1 - c0)
            _product_to_nchw(kt[:, c0:c1], cols, gc, None, dx[:, c0:c1])  # IC-7
            xm = scratch("x_channels", (c1 - c0, g.n, *g.in_hw), x.dtype)  # channel-major x
            np.copyto(xm, x[:, c0:c1].transpose(1, 0, 2, 3))
            np.matmul(cols[0], xm.reshape(c1 - c0, -1).T, out=dwt[:, c0:c1])  # IC-5

        parallel_map(channels, _row_blocks(g.c_in))
        dwt, db = dwt[None], dy.sum(axis=(0, 2, 3))  # IC-6
    else:
        dwt, db = _piecewise_flipped(dy, x, g, gt, kt, dx)
    # dwt (G, O_g·kH·kW, C_g) → dw (C_out, C_g, kH, kW), the filters turned back by 180°
    dw = dwt.reshape(g.groups, og, kh, kw, cg)[:, :, ::-1, ::-1].transpose(0, 1, 4, 2, 3)
    return dx, np.ascontiguousarray(dw).reshape(g.c_out, cg, kh, kw), db


def _piecewise_flipped(dy, x, g: ConvGeometry, gt: ConvGeometry, kt, dx):
    """dx (in place) and (dwt, db) of `_flipped_gradients`, a piece of dx's rows at a time;
    each piece adds its part of dwt and db, in piece order."""
    cg = g.c_in // g.groups

    def run(p: Piece):  # a piece of the flipped correlation: rows [r0, r1) of its images' dx
        cols = _multiply(kt, p.input(dy), p.g, None, p.output(dx))  # IC-7; (G, O_g·kH·kW, ·)
        # x channel-major, (C_in, N, rows, W): the left operand of dw's product
        xm = scratch("x_channels", (g.c_in, p.hi - p.lo, p.r1 - p.r0, g.in_hw[1]), x.dtype)
        np.copyto(xm, p.output(x).transpose(1, 0, 2, 3))
        # IC-5, as cols·xᵀ, (G, O_g·kH·kW, C_g) (the faster shape, docs/design.md "Product shapes")
        dwt = product(cols, xm.reshape(g.groups, cg, -1).transpose(0, 2, 1))
        # IC-6: db over the piece's images, once (by their first piece)
        return dwt, dy[p.lo : p.hi].sum(axis=(0, 2, 3)) if p.r0 == 0 else None

    parts = parallel_map(run, pieces(gt, x.itemsize))
    return _sum([p[0] for p in parts]), _sum([p[1] for p in parts if p[1] is not None])


def _piecewise_flipped_last(dy, x, w, g: ConvGeometry, gt: ConvGeometry, dx):
    """dx (in place) and (dw, db) of `_flipped_gradients` (groups = 1) from δ's channel-last
    column matrix (`_columns_last`), a piece of dx's rows at a time; each piece adds its part
    of dw and db, in piece order. Row (p), column (m', q', i) of the matrix holds
    δ_pad[n, i, y + m'·d_h, z + q'·d_w] for position p = (n, y, z), so
        dx = cols · K_flipped                                  (IC-7, NHWC, then transposed)
        colsᵀ · X [(m', q', i), j] = ∂E/∂K[i, j, kH − 1 − m', kW − 1 − q']     (IC-5)
    """
    kh, kw = g.kernel
    ktt = _weight_matrix_last(_flipped_weights(w, g))  # (kH·kW·C_out, C_in)

    def run(p: Piece):  # a piece of the flipped correlation: rows [r0, r1) of its images' dx
        cols = _multiply_last(ktt, p.input(dy), p.g, None, p.output(dx))  # IC-7; (P, kH·kW·C_out)
        xm = scratch("x_channels", (g.c_in, p.hi - p.lo, p.r1 - p.r0, g.in_hw[1]), x.dtype)
        np.copyto(xm, p.output(x).transpose(1, 0, 2, 3))  # x channel-major, (C_in, P)
        dwt = product(cols.T, xm.reshape(g.c_in, -1).T)  # IC-5, (kH·kW·C_out, C_in)
        # IC-6: db over the piece's images, once (by their first piece)
        return dwt, dy[p.lo : p.hi].sum(axis=(0, 2, 3)) if p.r0 == 0 else None

    parts = parallel_map(run, pieces(gt, x.itemsize))
    dwt = _sum([p[0] for p in parts]).reshape(kh, kw, g.c_out, g.c_in)
    # dwt[m', q', i, j] → dw[i, j, kH − 1 − m', kW − 1 − q'], the filters turned back by 180°
    dw = np.ascontiguousarray(dwt[::-1, ::-1].transpose(2, 3, 0, 1))
    return dw, _sum([p[1] for p in parts if p[1] is not None])


def _finite(a: np.ndarray) -> bool:
    """Whether a's sum is finite, a one-pass test that every element is (an overflowing sum
    of finite values says no, which only costs the slower path). The flipped correlation pads
    δ with explicit zeros: 0·∞ = NaN would put NaN where torch's gradients have none, in dx
    for non-finite weights, in dw for a non-finite x (test_bad_input.py)."""
    return bool(np.isfinite(np.sum(a)))


def flipped_geometry(g: ConvGeometry) -> ConvGeometry | None:
    """At stride 1 the input gradient Σ_i δ_i *_full K_ij (IC-7), cropped by the padding
    (IC-11), is itself a correlation: δ zero-padded by d·(k − 1) − p on each side, with every
    filter rotated by 180° and input and output channels swapped; the same column matrix of δ
    gives dw (`_flipped_gradients`), so the backward pass builds one column matrix instead of
    x's and then kH·kW scatter-adds. Returns that correlation's geometry, or None where it
    does not apply (stride > 1, padding beyond the filter's reach) or does not pay (more than
    FLIP_RATIO output channels per input channel: δ's column matrix has C_out·kH·kW rows,
    x's C_in·kH·kW)."""
    if g.c_out > FLIP_RATIO * g.c_in:
        return None
    return _transposed(g)


def _transposed(g: ConvGeometry) -> ConvGeometry | None:
    """The correlation of `flipped_geometry` whether it pays or not; None at stride > 1 or
    with padding beyond the filter's reach."""
    reach = [d * (k - 1) for k, d in zip(g.kernel, g.dilation, strict=True)]
    pad = tuple((r - a, r - b) for (a, b), r in zip(g.padding, reach, strict=True))
    if g.stride != (1, 1) or min(min(p) for p in pad) < 0:
        return None
    return dataclasses.replace(
        g, c_in=g.c_out, c_out=g.c_in, padding=pad, in_hw=g.out_hw, out_hw=g.in_hw
    )


def _flipped_weights(w: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """(C_out, C_g, kH, kW) → (C_in, C_out/G, kH, kW): wt[g·C_g + j, i, m, q] =
    w[g·O_g + i, j, kH − 1 − m, kW − 1 − q], the filters of `flipped_geometry`."""
    kh, kw = g.kernel
    wg = w.reshape(g.groups, g.c_out // g.groups, g.c_in // g.groups, kh, kw)[..., ::-1, ::-1]
    return np.ascontiguousarray(wg.transpose(0, 2, 1, 3, 4)).reshape(g.c_in, -1, kh, kw)


def _col2im(dcols: np.ndarray, g: ConvGeometry, dx: np.ndarray) -> None:
    """Scatter-add column gradients back to the input [IC-7, IC-10, IC-11].

    dcols: (G, C_g·kH·kW, N·H_out·W_out); the result goes to dx (N, C_in, H, W). Each filter
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
    # ∂E/∂x_pad, channel-major (C, N, H_pad, W_pad)
    dxp = scratch("padded_grads", (g.c_in, g.n, h + top + bottom, w + left + right), dx.dtype)
    dxp.fill(0)
    for m in range(kh):
        for q in range(kw):
            r0, c0 = m * dh, q * dw
            dxp[:, :, r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw] += d[
                :, m, q
            ]
    # IC-11: crop P on each side; back to (N, C, H, W)
    np.copyto(dx, dxp[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3))
