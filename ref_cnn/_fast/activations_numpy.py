"""ReLU's backward in tuned NumPy (private): ∂E/∂x = dy where x > 0 (or NaN), 0 where x ≤ 0,
the equation of `ref_cnn.functional.activations.relu_backward`, block by block on ref_cnn's
threads (`threads.elementwise`).

A block is dy·[not x ≤ 0], a multiply by the mask: np.where branches on every element of a
random mask (docs/design.md). Where dy holds ±∞ or NaN, dy·0 would be NaN where
x ≤ 0, so such blocks take np.where.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._fast.threads import elementwise


def relu_backward(dy, x) -> np.ndarray:
    """0 where x ≤ 0, else dy (as torch), for checked arrays of one shape and dtype."""
    dx = np.empty_like(dy)
    elementwise(_relu_grad, dx, dy, x)
    return dx


def _relu_grad(d: np.ndarray, v: np.ndarray) -> np.ndarray:
    keep = ~(v <= 0)  # not x ≤ 0: NaN keeps dy (a 0-d v gives a NumPy bool, hence no out=)
    if np.isfinite(d).all():
        return np.multiply(d, keep, dtype=d.dtype)  # dy·[not x ≤ 0]
    return np.where(keep, d, 0)  # 0, not NaN, where x ≤ 0 (as torch)
