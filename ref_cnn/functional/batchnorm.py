"""Batch normalisation over every axis but the channels, training and eval, as torch's
BatchNorm2d and `torch.nn.functional.batch_norm`.

Training mode, for each channel c over the M = N·H·W values of the batch:

    μ = mean(x),  σ² = mean((x − μ)²)  (biased),  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
    running_mean ← (1 − m)·running_mean + m·μ
    running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased)

Backward (training): ∂E/∂x = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)), g = γ·∂E/∂y;
∂E/∂γ = Σ ∂E/∂y·x̂, ∂E/∂β = Σ ∂E/∂y. Eval mode uses the running statistics, so it is a
per-channel affine map and ∂E/∂x = g/√(running_var + ε).

Each function below is these equations; the training-mode pair also has faster versions
(`ref_cnn._fast.backend.alternative`), tested equal to them.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape
from ref_cnn._fast.backend import alternative


def _stat_axes(x: np.ndarray) -> tuple[int, ...]:
    """Every axis but the channel axis 1: (N, C, *) normalised per channel."""
    return (0, *range(2, x.ndim))


def _per_channel(v, x: np.ndarray) -> np.ndarray:
    """A (C,) vector shaped to broadcast along x's channel axis: (1, C, 1, …)."""
    return np.asarray(v).reshape((1, -1) + (1,) * (x.ndim - 2))


def _statistics(x: np.ndarray):
    """(μ, σ²) of this batch per channel; σ² biased, as the normalisation uses."""
    axes = _stat_axes(x)
    return x.mean(axis=axes), x.var(axis=axes)  # μ = mean(x), σ² = mean((x − μ)²)


def _normalize(x, mean, var, weight, bias, eps):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel (γ, β None: 1, 0)."""
    xhat = (x - _per_channel(mean, x)) / _per_channel(np.sqrt(var + eps), x)  # x̂
    y = xhat if weight is None else xhat * _per_channel(weight, x)  # γ·x̂
    return y if bias is None else y + _per_channel(bias, x)  # + β


def _gradients(dy, x, mean, var, weight, eps, training: bool):
    """(∂E/∂x, ∂E/∂γ, ∂E/∂β) of `_normalize`; in training μ and σ² are x's own statistics,
    so ∂E/∂x has their terms too. ∂E/∂γ, ∂E/∂β None without γ."""
    axes = _stat_axes(x)
    inv_std = _per_channel(1 / np.sqrt(var + eps), x)  # 1/√(σ² + ε)
    xhat = (x - _per_channel(mean, x)) * inv_std  # x̂ = (x − μ)/√(σ² + ε)
    g = dy if weight is None else dy * _per_channel(weight, x)  # g = γ·∂E/∂y
    if training:  # (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂))
        mean_g, mean_gx = (
            g.mean(axis=axes, keepdims=True),
            (g * xhat).mean(axis=axes, keepdims=True),
        )
        dx = inv_std * (g - mean_g - xhat * mean_gx)
    else:  # the running statistics are constants: g/√(σ² + ε)
        dx = g * inv_std
    if weight is None:
        return dx, None, None
    return dx, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)  # ∂E/∂γ = Σ dy·x̂, ∂E/∂β = Σ dy


def batch_norm_train(x, weight=None, bias=None, eps: float = 1e-5):
    """Training-mode forward. Returns (y, mean, biased var) — the statistics of this batch.

    Args:
        x: (N, C, H, W); weight γ, bias β: (C,) or None (affine=False).
    """
    x = as_float_array(x, "x", ndim=4)
    if x.shape[0] * x.shape[2] * x.shape[3] < 2:
        raise ValueError(
            f"batch norm in training needs more than one value per channel, got input of shape {x.shape}"
        )
    fast = alternative("batch_norm_train")
    if fast is not None:
        return fast(x, weight, bias, eps)
    mean, var = _statistics(x)  # μ, σ² of this batch
    return _normalize(x, mean, var, weight, bias, eps), mean, var  # y = γ·x̂ + β


def update_running(
    running_mean, running_var, mean, var, count: int, momentum: float | None, num_batches: int
):
    """torch's update, in place; momentum None means a cumulative average (1/num_batches)."""
    m = 1.0 / num_batches if momentum is None else momentum
    running_mean *= 1 - m
    running_mean += m * mean
    running_var *= 1 - m
    running_var += m * var * count / (count - 1)  # the unbiased variance


def batch_norm_train_backward(dy, x, weight=None, eps: float = 1e-5):
    """(dx, dγ, dβ) of the training-mode forward (dγ, dβ None when not affine)."""
    x = as_float_array(x, "x", ndim=4)
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, x.shape)
    fast = alternative("batch_norm_train_backward")
    if fast is not None:
        return fast(dy, x, weight, eps)
    mean, var = _statistics(x)
    return _gradients(dy, x, mean, var, weight, eps, training=True)


def batch_norm_eval(x, running_mean, running_var, weight=None, bias=None, eps: float = 1e-5):
    """Eval-mode forward with the running statistics: γ·(x − μ_run)/√(σ²_run + ε) + β."""
    x = as_float_array(x, "x", ndim=4)
    return _normalize(x, running_mean, running_var, weight, bias, eps)


def batch_norm_eval_backward(dy, x, running_mean, running_var, weight=None, eps: float = 1e-5):
    """(dx, dγ, dβ) of the eval-mode forward."""
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, x.shape)
    return _gradients(dy, x, running_mean, running_var, weight, eps, training=False)


# ---------------------------------------------------------------- torch's functional form


def _check_bn(x, running_mean, running_var, weight, bias, training) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.size and x.ndim < 2:
        raise ValueError(f"x must be (N, C, *) with a channel axis, got shape {x.shape}")
    c = x.shape[1] if x.ndim >= 2 else 0
    for name, v in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if v is not None:
            as_float_array(v, name)
            if v.shape != (c,):
                raise ValueError(f"{name} must have shape ({c},) (one per channel), got {v.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(
            "batch_norm in eval mode (training=False) needs running_mean and running_var"
        )
    if training and x.size and x.size // c < 2:
        raise ValueError(
            f"batch norm in training needs more than one value per channel, got shape {x.shape}"
        )
    return x


def batch_norm(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
) -> np.ndarray:
    """Batch normalisation of an (N, C, *) input, as `torch.nn.functional.batch_norm`.

    y = γ·(x − μ)/√(σ² + ε) + β per channel, μ and σ² (biased) over every axis but C of this
    batch when `training`, else the running statistics.

    Args:
        x: (N, C, *), e.g. (N, C) after a dense layer or (N, C, H, W) after a convolution.
        running_mean, running_var: (C,) or None (only in training).
        weight γ, bias β: (C,) or None (no affine map).
        training: normalise with this batch's statistics.
        momentum: accepted for torch's signature; ref_cnn never modifies its inputs, so the
            running statistics are NOT updated here (torch updates them in place); use
            `update_running` (or the BatchNorm2d layer) for that.
        eps: added to the variance.

    Shape:
        y: x's shape.
    """
    x = _check_bn(x, running_mean, running_var, weight, bias, training)
    if x.size == 0:
        return x.copy()
    mean, var = _statistics(x) if training else (running_mean, running_var)
    return _normalize(x, mean, var, weight, bias, eps).astype(x.dtype, copy=False)


def batch_norm_backward(dy, x, running_mean, running_var, weight=None, training=False, eps=1e-5):
    """Gradients of `batch_norm`: (dx, dweight, dbias); dweight and dbias None without γ.

    Training: dx = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)), g = γ·dy (the batch
    statistics depend on x). Eval: dx = γ·dy/√(running_var + ε).
    dγ = Σ dy·x̂, dβ = Σ dy over every axis but C.
    """
    x = _check_bn(x, running_mean, running_var, weight, None, training)
    dy = as_float_array(dy, "dy")
    check_grad_shape(dy, x.shape)
    c = x.shape[1] if x.ndim >= 2 else 0
    if x.size == 0:
        zeros = None if weight is None else np.zeros(c, dtype=x.dtype)
        return np.zeros_like(x), zeros, zeros
    mean, var = _statistics(x) if training else (running_mean, running_var)
    dx, dw, db = _gradients(dy, x, mean, var, weight, eps, training)
    return dx.astype(x.dtype, copy=False), dw, db
