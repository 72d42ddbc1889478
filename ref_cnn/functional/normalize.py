"""Lp normalisation along one axis [NRM-6], as torch's `F.normalize`.

    ‖x‖_p = (Σ_i |x_i|^p)^(1/p) along `dim`,   y = x / max(‖x‖_p, ε)

p = 0 counts the nonzero values, p = ±∞ takes the largest / smallest |x_i|, as
`torch.linalg.vector_norm`. Backward, with m = max(‖x‖_p, ε):

    ∂E/∂x = (dy − (Σ_i dy_i·y_i)·∂‖x‖/∂x)/m   where ‖x‖_p ≥ ε, else dy/ε
    ∂‖x‖/∂x_j = sign(x_j)·(|x_j|/‖x‖)^(p−1)    (0 for p = 0; p = ±∞: sign(x_j) shared by
                                                 the positions where |x_j| = ‖x‖)
"""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape


def _check(x, p, dim) -> tuple[np.ndarray, int]:
    x = as_float_array(x, "x")
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"p must be a number (the norm's exponent), got {p!r}")
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {dim!r}")
    axes = max(x.ndim, 1)  # a 0-d x has one axis to normalise along, as torch
    if not -axes <= dim < axes:
        raise ValueError(
            f"dim must be in [{-axes}, {axes - 1}] for x of shape {x.shape}, got {dim}"
        )
    return x, dim % axes


def p_norm(x: np.ndarray, p: float, dim: int) -> np.ndarray:
    """‖x‖_p along dim, keeping the axis (size 1) [NRM-6]."""
    a = np.abs(x)
    if x.shape[dim] == 1 and p != 0:
        return a  # one value: ‖x‖_p = |x| exactly, whatever p
    if p == 0:
        return np.sum(x != 0, axis=dim, keepdims=True).astype(x.dtype)
    if np.isinf(p):
        return (np.max if p > 0 else np.min)(a, axis=dim, keepdims=True)
    with np.errstate(divide="ignore"):  # 0^p = ∞ for p < 0, as torch
        return np.sum(a**p, axis=dim, keepdims=True) ** (1 / p)  # (Σ|x_i|^p)^(1/p)


def normalize(x, p=2.0, dim=1, eps=1e-12) -> np.ndarray:
    """x divided by its Lp norm along `dim`, as `torch.nn.functional.normalize`.

    NRM-6: y = x / max(‖x‖_p, ε), ‖x‖_p = (Σ_i |x_i|^p)^(1/p) along dim.

    Args:
        x: any shape (a 0-d x is normalised along its one value, as torch).
        p: the exponent (0, ±∞ and negative values as torch.linalg.vector_norm).
        dim: the axis normalised along.
        eps: the smallest divisor.

    Shape:
        y: x's shape.
    """
    x, dim = _check(x, p, dim)
    v = x.reshape(x.shape or (1,))
    y = v / np.maximum(p_norm(v, p, dim), eps)  # NRM-6
    return y.reshape(x.shape).astype(x.dtype, copy=False)


def _norm_gradient(v: np.ndarray, norm: np.ndarray, p: float, dim: int) -> np.ndarray:
    """∂‖x‖_p/∂x_j = sign(x_j)·(|x_j|/‖x‖)^(p−1), with torch's values where it divides 0
    by 0: 0 where x_j = 0 for p < 1 and where ‖x‖ = 0 for p ≥ 1."""
    if p == 0:
        return np.zeros_like(v)
    if np.isinf(p):
        at = (np.abs(v) == norm) | np.isnan(v)
        return np.sign(v) * at / np.sum(at, axis=dim, keepdims=True)
    zero = (v == 0) if p < 1 else (norm == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(v) / norm
        return np.where(zero, 0.0, np.sign(v) * ratio ** (p - 1))


def normalize_backward(dy, x, p=2.0, dim=1, eps=1e-12) -> np.ndarray:
    """∂E/∂x of `normalize` [NRM-6].

    ∂E/∂x = (dy − (Σ_i dy_i·y_i)·∂‖x‖/∂x)/‖x‖ where ‖x‖_p ≥ ε; dy/ε where the norm is
    clamped to ε (it is then a constant).

    Shape:
        dx: x's shape.
    """
    x, dim = _check(x, p, dim)
    dy = as_float_array(dy, "dy")
    check_grad_shape(dy, x.shape)
    v, g = x.reshape(x.shape or (1,)), dy.reshape(x.shape or (1,))
    norm = p_norm(v, p, dim)
    m = np.maximum(norm, eps)  # m = max(‖x‖_p, ε)
    y = v / m
    along = np.sum(g * y, axis=dim, keepdims=True)  # Σ_i dy_i·y_i
    through_norm = np.where(norm >= eps, along * _norm_gradient(v, norm, p, dim), 0.0)
    dx = (g - through_norm) / m  # NRM-6
    return dx.reshape(x.shape).astype(x.dtype, copy=False)
