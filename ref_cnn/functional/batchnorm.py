"""Batch normalisation over (N, H, W) per channel, training and eval, as torch's BatchNorm2d.

Training mode, for each channel c over the N·H·W values of the batch:

    μ = mean(x),  σ² = mean((x − μ)²)  (biased),  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
    running_mean ← (1 − m)·running_mean + m·μ
    running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased, M = N·H·W)

Backward (training): ∂E/∂x = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)), g = γ·∂E/∂y.
Eval mode uses the running statistics, so it is a per-channel affine map.

Every channel's statistics and values depend on that channel alone, so the training-mode
passes run on blocks of channels in parallel (`ref_cnn._fast.threads`), cut by size alone.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape
from ref_cnn._fast import backend as kernels
from ref_cnn._fast.scratch import scratch
from ref_cnn._fast.threads import grain, parallel_map, spans

AXES = (0, 2, 3)

# Bytes of input per task: a block of channels (see the module docstring).
BLOCK_BYTES = 4 * 2**20


def _by_channels(fn, x: np.ndarray, *per_channel):
    """fn(c, *arrays_c) for blocks c (a slice) of x's channels, in parallel; per_channel
    arrays (C,) or None are sliced along."""
    # a channel's passes (statistics, normalisation, affine) read it about four times
    step = grain(x.shape[1], x.nbytes // max(x.shape[1], 1), BLOCK_BYTES, weight=4)
    blocks = [slice(lo, hi) for lo, hi in spans(x.shape[1], step)]
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
    if kernels.compiled():  # the same equations in one compiled pass set (`_passes_numba`)
        from ref_cnn._fast import passes_numba as _passes_numba

        return _passes_numba.batch_norm_train(x, weight, bias, eps)
    y, mean, var = np.empty_like(x), np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)

    def block(c, weight, bias):  # channels c, written into y's block pass by pass
        xc = x[:, c]
        mean[c] = xc.mean(axis=AXES)  # μ
        d = np.subtract(xc, _channel(mean[c]), out=y[:, c])  # x − μ
        var[c] = _mean_square(d)  # σ² = mean((x − μ)²), biased, as the normalisation uses
        scale = 1 / np.sqrt(var[c] + eps)
        d *= _channel(scale if weight is None else weight * scale)  # γ·x̂ = γ·(x − μ)/√(σ² + ε)
        if bias is not None:
            d += _channel(bias)  # + β

    _by_channels(block, x, weight, bias)
    return y, mean, var


def _mean_square(d: np.ndarray) -> np.ndarray:
    """mean(d²) per channel, the square in this thread's work buffer (no new array)."""
    return np.multiply(d, d, out=scratch("batch norm", d.shape, d.dtype)).mean(axis=AXES)


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
    if kernels.compiled():
        from ref_cnn._fast import passes_numba as _passes_numba

        return _passes_numba.batch_norm_train_backward(dy, x, weight, eps)
    c_all = x.shape[1]
    dx, dw, db = np.empty_like(x), np.empty(c_all, x.dtype), np.empty(c_all, x.dtype)

    count = x.shape[0] * x.shape[2] * x.shape[3]  # M = N·H·W values per channel

    def block(c, weight):  # channels c, written into dx's block pass by pass
        xc, dyc = x[:, c], dy[:, c]
        d = np.subtract(xc, _channel(xc.mean(axis=AXES)), out=dx[:, c])  # x − μ
        inv_std = 1 / np.sqrt(_mean_square(d) + eps)  # 1/√(σ² + ε)
        work = scratch("batch norm", d.shape, d.dtype)
        sum_dy = dyc.sum(axis=AXES)  # Σ dy (= ∂E/∂β)
        sum_dy_xhat = np.multiply(dyc, d, out=work).sum(axis=AXES) * inv_std  # Σ dy·x̂ (= ∂E/∂γ)
        k = inv_std if weight is None else weight * inv_std  # γ/√(σ² + ε)
        # dx = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)) with g = γ·dy, x̂ = (x − μ)/√(σ² + ε):
        #    = k·dy − k·Σdy/M − (x − μ)·k·(1/√(σ² + ε))·Σdy·x̂/M
        d *= _channel(-k * inv_std * sum_dy_xhat / count)
        d += np.multiply(dyc, _channel(k), out=work)
        d -= _channel(k * sum_dy / count)
        if weight is not None:
            dw[c], db[c] = sum_dy_xhat, sum_dy

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


# ---------------------------------------------------------------- torch's functional form


def _stat_axes(x: np.ndarray) -> tuple[int, ...]:
    """Every axis but the channel axis 1: (N, C, *) normalised per channel."""
    return (0, *range(2, x.ndim))


def _per_channel(v, x: np.ndarray) -> np.ndarray:
    return np.asarray(v).reshape((1, -1) + (1,) * (x.ndim - 2))


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
    axes = _stat_axes(x)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased, as the normalisation uses
    else:
        mean, var = running_mean, running_var
    xhat = (x - _per_channel(mean, x)) / _per_channel(np.sqrt(var + eps), x)
    y = xhat if weight is None else xhat * _per_channel(weight, x)
    return (y if bias is None else y + _per_channel(bias, x)).astype(x.dtype, copy=False)


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
    axes = _stat_axes(x)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = running_mean, running_var
    inv_std = _per_channel(1 / np.sqrt(var + eps), x)
    xhat = (x - _per_channel(mean, x)) * inv_std
    g = dy if weight is None else dy * _per_channel(weight, x)
    if training:
        dx = inv_std * (
            g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True)
        )
    else:
        dx = g * inv_std
    dx = dx.astype(x.dtype, copy=False)
    if weight is None:
        return dx, None, None
    return dx, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)
