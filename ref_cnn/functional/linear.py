"""Fully connected layer in the AV article's layout [AV-5, AV-10, AV-11, AV-13, MB-11].

AV writes Z = Wᵀ·X + b with W of shape (m inputs, n neurons) and one column per sample.
With NCHW-style batches (one *row* per sample) the same map reads y = x·W + b:

    y[k, j] = Σ_l x[k, l]·W[l, j] + b[j]

MB writes z_j = Σ_l w_{j,l}·a_l + b_j, i.e. MB's w (and torch.nn.Linear.weight) is Wᵀ.
Each function is its equation; the faster versions (`ref_cnn._fast.backend.alternative`)
are tested equal to it.
"""

from __future__ import annotations

import math

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype
from ref_cnn._fast.backend import alternative


def _check(x, w, b=None) -> None:
    as_float_array(x, "x")
    as_float_array(w, "w", ndim=2)
    if b is not None:
        as_float_array(b, "b", ndim=1)
    same_dtype(x=x, w=w, b=b)
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (the m input features), got a 0-D array")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x has {x.shape[-1]} features but w of shape {w.shape} expects "
            f"{w.shape[0]} inputs (w is (inputs, neurons), the article's layout; torch's "
            "Linear.weight is w.T)"
            + (": flatten images first with ref_cnn.functional.flatten(x)" if x.ndim > 2 else "")
        )
    if b is not None and b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape ({w.shape[1]},) (one per neuron), got {b.shape}")


def linear(x, w, b=None) -> np.ndarray:
    """Linear transformation Z = Wᵀ·X + b [AV-5, MB-11], one row per sample.

    y[…, j] = Σ_l x[…, l]·W[l, j] + b[j]

    Args:
        x: (N, m) inputs (flatten a volume first, MB-11); as torch, any leading axes
            (…, m) are carried along, and a single sample (m,) gives (n,).
        w: (m, n), the article's layout; torch.nn.Linear holds weight = w.T.
        b: (n,) or None.

    Shape:
        y: (…, n), x's shape with its last axis m → n.

    Example:
        >>> import numpy as np
        >>> from ref_cnn.functional import linear, linear_backward
        >>> x = np.array([[1.0, 2.0, 3.0]])  # one sample, m = 3 inputs
        >>> w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # (m, n) = (3, 2), AV's W
        >>> linear(x, w, np.array([0.5, -0.5]))  # AV-5: Z = Wᵀ·X + b
        array([[4.5, 4.5]])
        >>> dx, dw, db = linear_backward(np.array([[1.0, 2.0]]), x, w)
        >>> dx, db  # AV-13: ∂E/∂x = δ·Wᵀ; AV-11: ∂E/∂b = Σ δ
        (array([[1., 2., 3.]]), array([1., 2.]))
    """
    _check(x, w, b)
    fast = alternative("linear")
    if fast is not None:
        return fast(x, w, b)
    y = x @ w  # AV-5: (Wᵀ·X)ᵀ = Xᵀ·W, one row per sample
    return y if b is None else y + b


def linear_backward(dy, x, w):
    """Gradients of `linear` [AV-10, AV-11, AV-13].

    Args:
        dy: (…, n), ∂E/∂Z.
        x: (…, m), w: (m, n), as given to `linear`.

    Returns:
        dx: (…, m) = dy·Wᵀ        (AV-13: ∂Z/∂X = Wᵀ)
        dw: (m, n) = Xᵀ·dy        (AV-10: ∂Z/∂W = X, summed over samples; shape of W)
        db: (n,)   = Σ_k dy[k]    (AV-11: summed over samples)
    The leading axes … all count as samples.
    """
    _check(x, w)
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, (*x.shape[:-1], w.shape[1]))
    fast = alternative("linear_backward")
    if fast is not None:
        return fast(dy, x, w)
    samples = math.prod(x.shape[:-1])  # every leading axis counts as samples
    rows_x = x.reshape(samples, w.shape[0])  # (samples, m)
    rows_dy = dy.reshape(samples, w.shape[1])  # (samples, n)
    dx = dy @ w.T  # AV-13: ∂E/∂X = δ·Wᵀ
    dw = rows_x.T @ rows_dy  # AV-10: ∂E/∂W = Xᵀ·δ, summed over samples
    return dx, dw, rows_dy.sum(axis=0)  # AV-11: ∂E/∂b = Σ δ over samples
