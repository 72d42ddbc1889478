"""Batch normalisation over (N, H, W) per channel, training and eval, as torch's BatchNorm2d.

Training mode, for each channel c over the N·H·W values of the batch:

    μ = mean(x),  σ² = mean((x − μ)²)  (biased),  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
    running_mean ← (1 − m)·running_mean + m·μ
    running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased, M = N·H·W)

Backward (training): ∂E/∂x = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)), g = γ·∂E/∂y.
Eval mode uses the running statistics, so it is a per-channel affine map.

Every channel's statistics and values depend on that channel alone, so the training-mode
passes run on blocks of channels in parallel (`ref_cnn.threads`), cut by size alone.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape
from ref_cnn.threads import parallel_map, spans

AXES = (0, 2, 3)

# Bytes of input per task: a block of channels (see the module docstring).
BLOCK_BYTES = 4 * 2**20


def _by_channels(fn, x: np.ndarray, *per_channel):
    """fn(c, *arrays_c) for blocks c (a slice) of x's channels, in parallel; per_channel
    arrays (C,) or None are sliced along."""
    step = round(BLOCK_BYTES / max(x.nbytes // max(x.shape[1], 1), 1))
    blocks = [slice(lo, hi) for lo, hi in spans(x.shape[1], max(1, step))]
    parallel_map(
        lambda c: fn(c, *(None if a is None else a[c] for a in per_channel)), blocks, blas=False
    )


def _channel(v: np.ndarray) -> np.ndarray:
    return v.reshape(1, -1, 1, 1)


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
    y, mean, var = np.empty_like(x), np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)

    def block(c, weight, bias):  # channels c
        xc = x[:, c]
        mean[c] = xc.mean(axis=AXES)
        var[c] = xc.var(axis=AXES)  # biased, as the normalisation uses
        xhat = (xc - _channel(mean[c])) / _channel(np.sqrt(var[c] + eps))
        y[:, c] = _affine(xhat, weight, bias)

    _by_channels(block, x, weight, bias)
    return y, mean, var


def _affine(xhat, weight, bias):
    y = xhat if weight is None else xhat * _channel(weight)
    return y if bias is None else y + _channel(bias)


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
    c_all = x.shape[1]
    dx, dw, db = np.empty_like(x), np.empty(c_all, x.dtype), np.empty(c_all, x.dtype)

    def block(c, weight):  # channels c
        xc, dyc = x[:, c], dy[:, c]
        mean, var = xc.mean(axis=AXES), xc.var(axis=AXES)
        inv_std = 1 / np.sqrt(var + eps)
        xhat = (xc - _channel(mean)) * _channel(inv_std)
        g = dyc if weight is None else dyc * _channel(weight)
        dx[:, c] = _channel(inv_std) * (
            g - g.mean(axis=AXES, keepdims=True) - xhat * (g * xhat).mean(axis=AXES, keepdims=True)
        )
        if weight is not None:
            dw[c], db[c] = (dyc * xhat).sum(axis=AXES), dyc.sum(axis=AXES)

    _by_channels(block, x, weight)
    return (dx, None, None) if weight is None else (dx, dw, db)


def batch_norm_eval(x, running_mean, running_var, weight=None, bias=None, eps: float = 1e-5):
    """Eval-mode forward with the running statistics."""
    x = as_float_array(x, "x", ndim=4)
    xhat = (x - _channel(running_mean)) / _channel(np.sqrt(running_var + eps))
    return _affine(xhat, weight, bias)


def batch_norm_eval_backward(dy, x, running_mean, running_var, weight=None, eps: float = 1e-5):
    """(dx, dγ, dβ) of the eval-mode forward."""
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, x.shape)
    inv_std = 1 / np.sqrt(running_var + eps)
    dx = dy * _channel(inv_std if weight is None else weight * inv_std)
    if weight is None:
        return dx, None, None
    xhat = (x - _channel(running_mean)) * _channel(inv_std)
    return dx, (dy * xhat).sum(axis=AXES), dy.sum(axis=AXES)
