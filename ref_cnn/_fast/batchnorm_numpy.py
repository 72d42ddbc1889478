"""Training-mode batch norm in tuned NumPy (private): the equations of
`ref_cnn.functional.batchnorm`, computed on blocks of channels in parallel, each block
written into the result pass by pass (no temporaries but one work buffer per thread).

Every channel's statistics and values depend on that channel alone, so the blocks are cut
by size alone and the thread count changes nothing. docs/design.md has the
measurements behind it.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._fast.scratch import scratch
from ref_cnn._fast.threads import grain, parallel_map, spans

AXES = (0, 2, 3)

# Bytes of input per task: a block of channels.
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


def _mean_square(d: np.ndarray) -> np.ndarray:
    """mean(d²) per channel, the square in this thread's work buffer (no new array)."""
    return np.multiply(d, d, out=scratch("batch norm", d.shape, d.dtype)).mean(axis=AXES)


def batch_norm_train(x, weight, bias, eps: float):
    """(y, mean, biased var) of training-mode batch norm; x (N, C, H, W) checked."""
    y, mean, var = np.empty_like(x), np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)

    def block(c, weight, bias):  # channels c, written into y's block pass by pass
        xc = x[:, c]
        mean[c] = xc.mean(axis=AXES)  # μ
        d = np.subtract(xc, _channel(mean[c]), out=y[:, c])  # x − μ
        var[c] = _mean_square(d)  # σ² = mean((x − μ)²), biased
        scale = 1 / np.sqrt(var[c] + eps)
        d *= _channel(scale if weight is None else weight * scale)  # γ·(x − μ)/√(σ² + ε)
        if bias is not None:
            d += _channel(bias)  # + β

    _by_channels(block, x, weight, bias)
    return y, mean, var


def batch_norm_train_backward(dy, x, weight, eps: float):
    """(dx, dγ, dβ) of training-mode batch norm (dγ, dβ None without γ); shapes checked."""
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
        # dx = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂)), g = γ·dy, x̂ = (x − μ)/√(σ² + ε):
        #    = k·dy − k·Σdy/M − (x − μ)·k·(1/√(σ² + ε))·Σdy·x̂/M
        d *= _channel(-k * inv_std * sum_dy_xhat / count)
        d += np.multiply(dyc, _channel(k), out=work)
        d -= _channel(k * sum_dy / count)
        if weight is not None:
            dw[c], db[c] = sum_dy_xhat, sum_dy

    _by_channels(block, x, weight)
    return (dx, None, None) if weight is None else (dx, dw, db)
