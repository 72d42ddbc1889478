"""Matrix products shaped for ref_cnn's threads (`ref_cnn._fast.threads`).

Two facts about NumPy's matmul decide how a product runs well beside other threads
(docs/design.md, "Products", has the measurements):

* It lets the GIL go only when the result has more than `GIL_RELEASE_ELEMENTS` elements,
  however long the sum (AV's (3, 28800) · (28800, 25) weight gradient holds it throughout).
  `product` cuts the inner axis of such a product into blocks, multiplies them as one
  stacked product whose result is large enough, then sums the blocks in order.
* An inner axis of length 1 (an outer product) is faster as an elementwise multiply, which
  gives the same numbers (one rounded product per element).

`matmul` splits a product's rows over the threads.
"""

from __future__ import annotations

import math

import numpy as np

from ref_cnn._fast.threads import grain, parallel_map, spans

# NumPy's matmul keeps the GIL for results of at most this many elements (see above).
GIL_RELEASE_ELEMENTS = 500

# The shortest block of the inner axis worth cutting off (shorter sums hold the GIL briefly).
MIN_INNER_BLOCK = 256


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for a (…, M, K) and b (…, K, N): an (…, M, N) array (`out` where given),
    computed so that NumPy lets the GIL go (see the module's docstring).

        (a·b)[…, i, j] = Σ_k a[…, i, k] · b[…, k, j]

    K = 1: the outer product, elementwise. A result of at most GIL_RELEASE_ELEMENTS
    elements with a long K: K cut into B equal blocks (the rest of K // B added after),
        a·b = Σ_β a[…, :, β-th block] · b[…, β-th block, :]      (β = 0 … B − 1, in order)
    The cut depends on the shapes alone, so the result does not depend on the thread count.
    """
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if k == 1:  # (…, M, 1) · (…, 1, N): one product per element
        return np.multiply(a, b, out=out)
    size = math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])) * m * n
    blocks = GIL_RELEASE_ELEMENTS // max(size, 1) + 1  # blocks × size > GIL_RELEASE_ELEMENTS
    if size > GIL_RELEASE_ELEMENTS or k < blocks * MIN_INNER_BLOCK:
        return np.matmul(a, b, out=out)
    step = k // blocks
    head = blocks * step
    # (B, …, M, step) and (B, …, step, N): the blocks of K as a leading stack axis
    ab = np.moveaxis(a[..., :head].reshape(*a.shape[:-1], blocks, step), -2, 0)
    bb = np.moveaxis(b[..., :head, :].reshape(*b.shape[:-2], blocks, step, n), -3, 0)
    # Σ over the blocks, in order (a reduction over the leading axis adds block by block)
    out = np.matmul(ab, bb).sum(axis=0, out=out)  # (B, …, M, N) → (…, M, N)
    if head < k:  # the last K − B·step terms
        out += np.matmul(a[..., head:], b[..., head:, :])
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 2-D arrays, the rows of the result cut into tasks (BLAS on one thread in
    each, see `threads.parallel_map`), cut by the shapes alone: the thread count changes
    nothing. Each task's rows are a `product`."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    # a row's work: its K + N elements, and K·N multiply-adds, about 32 of which cost as much
    # as copying an element (as conv's `_work_per_byte`); an outer product (K = 1) is a copy
    k, n = a.shape[1], b.shape[1]
    step = grain(a.shape[0], (k + n) * out.itemsize, 2**22, 1 + k * n / (k + n) / 32)

    def rows(span):
        lo, hi = span
        product(a[lo:hi], b, out=out[lo:hi])

    parallel_map(rows, spans(a.shape[0], step))
    return out
