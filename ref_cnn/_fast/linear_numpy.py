"""The dense layer's products on ref_cnn's threads (private): the equations of
`ref_cnn.functional.linear`, each product's rows cut into tasks with BLAS on one thread in
each (`products.matmul`), so that BLAS's own threads never contend with ref_cnn's
(docs/design.md).
"""

from __future__ import annotations

import math

from ref_cnn._fast.products import matmul


def linear(x, w, b):
    """y = x·W + b for checked x (…, m), w (m, n), b (n,) or None."""
    rows = x.reshape(math.prod(x.shape[:-1]), w.shape[0])  # (samples, m)
    y = matmul(rows, w).reshape(*x.shape[:-1], w.shape[1])
    return y if b is None else y + b


def linear_backward(dy, x, w):
    """(dx, dw, db) = (dy·Wᵀ, Xᵀ·dy, Σ dy) for checked dy (…, n), x (…, m), w (m, n)."""
    samples = math.prod(x.shape[:-1])
    rows_x = x.reshape(samples, w.shape[0])  # (samples, m)
    rows_dy = dy.reshape(samples, w.shape[1])  # (samples, n)
    dx = matmul(rows_dy, w.T).reshape(x.shape)
    return dx, matmul(rows_x.T, rows_dy), rows_dy.sum(axis=0)
