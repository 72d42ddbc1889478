"""Losses and their gradients [AV-8, MB-13].

Every loss returns a scalar (a 0-d array of the input's dtype) and has a `_backward`
returning ∂E/∂(prediction) for an upstream scalar gradient `dloss` (1 by default).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_mode, same_dtype
from ref_cnn.functional.activations import log_softmax

REDUCTIONS = ("mean", "sum")


def _check_pair(o, y, o_name="o", y_name="y") -> None:
    as_float_array(o, o_name)
    as_float_array(y, y_name)
    same_dtype(**{o_name: o, y_name: y})
    if o.shape != y.shape:
        raise ValueError(f"{o_name} {o.shape} and {y_name} {y.shape} must have the same shape")


def _reduce(per_element: np.ndarray, reduction: str) -> np.ndarray:
    check_mode(reduction, REDUCTIONS, "reduction")
    return per_element.mean() if reduction == "mean" else per_element.sum()


def _scale(n: int, reduction: str, dloss) -> float:
    check_mode(reduction, REDUCTIONS, "reduction")
    return float(dloss) / (n if reduction == "mean" else 1)


def half_squared_error(o, y) -> np.ndarray:
    """AV's error E = Σ (y′ − O)²/2 over all outputs and samples [AV-8]."""
    _check_pair(o, y)
    return np.sum(np.square(y - o)) / 2  # AV-8: (y′ − O)²/2


def half_squared_error_backward(o, y, dloss=1.0) -> np.ndarray:
    """∂E/∂O = −(y′ − O) [AV-8]."""
    _check_pair(o, y)
    return -(y - o) * o.dtype.type(dloss)


def mse_loss(o, y, reduction: str = "mean") -> np.ndarray:
    """Mean (or summed) squared error, as `torch.nn.functional.mse_loss` [MB-13]."""
    _check_pair(o, y)
    return _reduce(np.square(o - y), reduction)


def mse_loss_backward(o, y, reduction: str = "mean", dloss=1.0) -> np.ndarray:
    """∂J/∂o = 2(o − y)/m for the mean (m = number of elements), 2(o − y) for the sum."""
    _check_pair(o, y)
    return 2 * (o - y) * o.dtype.type(_scale(o.size, reduction, dloss))


def binary_cross_entropy(p, y, reduction: str = "mean") -> np.ndarray:
    """−[y·log p + (1 − y)·log(1 − p)], logs clamped at −100 as torch does [MB-13].

    Args:
        p: probabilities in [0, 1] (e.g. a sigmoid output), any shape.
        y: targets of p's shape.
    """
    _check_pair(p, y, "p", "y")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1] (apply sigmoid first)")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100)  # torch clamps log(0) = −∞ to −100
        log_1mp = np.maximum(np.log1p(-p), -100)
    return _reduce(-(y * log_p + (1 - y) * log_1mp), reduction)


def binary_cross_entropy_backward(p, y, reduction: str = "mean", dloss=1.0) -> np.ndarray:
    """∂J/∂p = (p − y)/max(p(1 − p), ε), torch's formula (finite at p ∈ {0, 1})."""
    _check_pair(p, y, "p", "y")
    # torch's ε is the float32 value of 1e−12 (9.99999996e−13), also in float64
    grad = (p - y) / np.maximum(p * (1 - p), p.dtype.type(np.float32(1e-12)))
    return grad * p.dtype.type(_scale(p.size, reduction, dloss))


def _check_targets(logits, target) -> None:
    as_float_array(logits, "logits", ndim=2)
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        raise TypeError("target must be an integer numpy.ndarray of class indices")
    if target.shape != (logits.shape[0],):
        raise ValueError(f"target must have shape ({logits.shape[0]},), got {target.shape}")
    if target.size and (target.min() < 0 or target.max() >= logits.shape[1]):
        raise ValueError(f"target holds class indices outside [0, {logits.shape[1]})")


def cross_entropy(logits, target, reduction: str = "mean") -> np.ndarray:
    """Softmax cross-entropy J = (1/m)·Σ_i −log softmax(z_i)[y_i] [MB-13].

    Args:
        logits: (N, K) scores (before softmax).
        target: (N,) integer class indices.
    """
    _check_targets(logits, target)
    picked = np.take_along_axis(log_softmax(logits, axis=1), target[:, None], axis=1)[:, 0]
    return _reduce(-picked, reduction)  # MB-13: (1/m)·Σ L(ŷ_i, y_i)


def cross_entropy_backward(logits, target, reduction: str = "mean", dloss=1.0) -> np.ndarray:
    """∂J/∂z = (softmax(z) − onehot(y))/m for the mean."""
    _check_targets(logits, target)
    grad = np.exp(log_softmax(logits, axis=1))
    grad[np.arange(logits.shape[0]), target] -= 1
    return grad * logits.dtype.type(_scale(logits.shape[0], reduction, dloss))
