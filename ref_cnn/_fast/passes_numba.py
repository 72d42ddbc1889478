"""Compiled passes over memory (numba): training-mode batch norm, ReLU and max-pooling, the
equations of `batchnorm`, `activations` and `pool`, one GIL-free region per call (private).

`ref_cnn._fast.backend` dispatches to them under the "numba" set. NumPy's versions make
several passes over memory per channel, each a NumPy call that takes the GIL back; here a
task is one channel (batch norm) or one block of values (ReLU), and a channel's passes read
it as few times as its equations allow:

    forward:  μ = Σx/M,  σ² = Σ(x − μ)²/M,  y = γ·(x − μ)/√(σ² + ε) + β   (3 passes)
    backward: x̂ = (x − μ)/√(σ² + ε),  ∂E/∂β = Σdy,  ∂E/∂γ = Σdy·x̂,
              dx = γ/√(σ² + ε) · (dy − Σdy/M − x̂·Σdy·x̂/M)                 (4 passes)

with M = N·H·W. Max-pooling scans each window's positions in the input in row-major order
as torch does: a larger value or a NaN replaces the maximum (among ties the first stays,
NaN propagates), padding is skipped, and the backward pass adds dy to that position.
Sums are accumulated in float64 (NumPy's own sums are pairwise in the input's
dtype): results differ from NumPy's by rounding. Each channel is one task whatever the thread
count, so results do not depend on it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ref_cnn._fast.conv_numba import region


@njit(nogil=True, cache=True, inline="always")
def _statistics(x, c):  # pragma: no cover
    """(μ, σ²) of channel c over (N, H, W): the mean, then the biased variance (2 passes)."""
    n, _, h, w = x.shape
    s = 0.0
    for i in range(n):
        for j in range(h):
            for k in range(w):
                s += x[i, c, j, k]
    mu = s / (n * h * w)  # μ
    q = 0.0
    for i in range(n):
        for j in range(h):
            for k in range(w):
                d = x[i, c, j, k] - mu
                q += d * d
    return mu, q / (n * h * w)  # σ² = mean((x − μ)²), biased


@njit(parallel=True, nogil=True, cache=True)
def _forward(x, weight, bias, eps, y, mean, var):  # pragma: no cover
    n, c_all, h, w = x.shape
    for c in prange(c_all):
        mu, sigma2 = _statistics(x, c)
        mean[c], var[c] = mu, sigma2
        scale = weight[c] / np.sqrt(sigma2 + eps)  # γ/√(σ² + ε)
        shift = bias[c] - mu * scale  # β − μ·γ/√(σ² + ε)
        for i in range(n):
            for j in range(h):
                for k in range(w):
                    y[i, c, j, k] = x[i, c, j, k] * scale + shift


@njit(parallel=True, nogil=True, cache=True)
def _backward(dy, x, weight, eps, dx, dw, db):  # pragma: no cover
    n, c_all, h, w = x.shape
    count = n * h * w
    for c in prange(c_all):
        mu, sigma2 = _statistics(x, c)
        inv_std = 1.0 / np.sqrt(sigma2 + eps)  # 1/√(σ² + ε)
        s_dy, s_dy_xhat = 0.0, 0.0
        for i in range(n):
            for j in range(h):
                for k in range(w):
                    g = dy[i, c, j, k]
                    s_dy += g  # Σ dy (= ∂E/∂β)
                    s_dy_xhat += g * (x[i, c, j, k] - mu)
        s_dy_xhat *= inv_std  # Σ dy·x̂ (= ∂E/∂γ)
        db[c], dw[c] = s_dy, s_dy_xhat
        k_c = weight[c] * inv_std  # γ/√(σ² + ε)
        a = k_c * s_dy / count  # k·Σdy/M
        b = k_c * inv_std * s_dy_xhat / count  # k·(1/√(σ² + ε))·Σdy·x̂/M
        for i in range(n):
            for j in range(h):
                for k in range(w):
                    dx[i, c, j, k] = k_c * dy[i, c, j, k] - a - (x[i, c, j, k] - mu) * b


@njit(parallel=True, nogil=True, cache=True)
def _relu(x, y, block):  # pragma: no cover
    for t in prange((x.size + block - 1) // block):
        for i in range(t * block, min(x.size, (t + 1) * block)):
            v = x[i]
            y[i] = v if v > 0 or v != v else 0  # max(x, 0); NaN stays NaN (as torch.relu)


@njit(parallel=True, nogil=True, cache=True)
def _relu_backward(dy, x, dx, block):  # pragma: no cover
    for t in prange((x.size + block - 1) // block):
        for i in range(t * block, min(x.size, (t + 1) * block)):
            dx[i] = 0 if x[i] <= 0 else dy[i]  # 0 where x ≤ 0 whatever dy; NaN passes dy


@njit(nogil=True, cache=True, inline="always")
def _window_max(x, n, c, i, j, kh, kw, sh, sw, ph, pw, dh, dw):  # pragma: no cover
    """(max, row, col) of window (i, j) of plane (n, c) [IC-8]: positions in row-major order,
    padding skipped; a larger value or a NaN replaces the maximum. row = −1: no position."""
    h, w = x.shape[2], x.shape[3]
    best, rb, cb = -np.inf, -1, -1
    for m in range(kh):
        r = i * sh - ph + m * dh
        if r < 0 or r >= h:
            continue
        for q in range(kw):
            col = j * sw - pw + q * dw
            if col < 0 or col >= w:
                continue
            v = x[n, c, r, col]
            if rb < 0 or v > best or v != v:
                best, rb, cb = v, r, col
    return best, rb, cb


@njit(parallel=True, nogil=True, cache=True)
def _max_pool(x, y, kh, kw, sh, sw, ph, pw, dh, dw):  # pragma: no cover
    n_img, c_all, ho, wo = y.shape
    for t in prange(n_img * c_all):
        n, c = t // c_all, t % c_all
        for i in range(ho):
            for j in range(wo):
                y[n, c, i, j] = _window_max(x, n, c, i, j, kh, kw, sh, sw, ph, pw, dh, dw)[0]


@njit(parallel=True, nogil=True, cache=True)
def _max_pool_backward(dy, x, dx, kh, kw, sh, sw, ph, pw, dh, dw):  # pragma: no cover
    n_img, c_all, ho, wo = dy.shape
    for t in prange(n_img * c_all):
        n, c = t // c_all, t % c_all
        dx[n, c] = 0
        for i in range(ho):
            for j in range(wo):
                _, r, col = _window_max(x, n, c, i, j, kh, kw, sh, sw, ph, pw, dh, dw)
                if r >= 0:
                    dx[n, c, r, col] += dy[n, c, i, j]  # IC-8: dy to the window's maximum


RELU_BLOCK = 2**16  # values per ReLU task


def _per_channel(v, c: int, dtype, absent: float) -> np.ndarray:
    """γ or β as a contiguous (C,) array; `absent` everywhere where the layer has none."""
    return np.full(c, absent, dtype=dtype) if v is None else np.ascontiguousarray(v, dtype=dtype)


def batch_norm_train(x, weight, bias, eps: float):
    """(y, mean, biased var) of training-mode batch norm; x (N, C, H, W) checked."""
    c = x.shape[1]
    y, mean, var = np.empty_like(x), np.empty(c, x.dtype), np.empty(c, x.dtype)
    w, b = _per_channel(weight, c, x.dtype, 1.0), _per_channel(bias, c, x.dtype, 0.0)
    with region(blas=False):
        _forward(np.ascontiguousarray(x), w, b, eps, y, mean, var)
    return y, mean, var


def batch_norm_train_backward(dy, x, weight, eps: float):
    """(dx, dγ, dβ) of training-mode batch norm (dγ, dβ None without γ); shapes checked."""
    c = x.shape[1]
    dx, dw, db = np.empty_like(x), np.empty(c, x.dtype), np.empty(c, x.dtype)
    w = _per_channel(weight, c, x.dtype, 1.0)
    with region(blas=False):
        _backward(np.ascontiguousarray(dy), np.ascontiguousarray(x), w, eps, dx, dw, db)
    return (dx, None, None) if weight is None else (dx, dw, db)


def relu(x) -> np.ndarray:
    """max(x, 0) of a checked float array."""
    y = np.empty(x.shape, dtype=x.dtype)
    with region(blas=False):
        _relu(np.ascontiguousarray(x).reshape(-1), y.reshape(-1), RELU_BLOCK)
    return y


def relu_backward(dy, x) -> np.ndarray:
    """0 where x ≤ 0, else dy (as torch), for checked arrays of one shape and dtype."""
    dx = np.empty(dy.shape, dtype=dy.dtype)
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (dy, x)]
    with region(blas=False):
        _relu_backward(*flat, dx.reshape(-1), RELU_BLOCK)
    return dx


def _pool_args(g):
    return (*g.kernel, *g.stride, *g.padding, *g.dilation)


def max_pool(x, g) -> np.ndarray:
    """(N, C, H_out, W_out) window maxima of a checked x (N, C, H, W) [IC-8]."""
    y = np.empty((*x.shape[:2], *g.out_hw), dtype=x.dtype)
    with region(blas=False):
        _max_pool(np.ascontiguousarray(x), y, *_pool_args(g))
    return y


def max_pool_backward(dy, x, g) -> np.ndarray:
    """dx: each dy added at its window's maximum [IC-8]; checked dy, x (N, C, ·, ·)."""
    dx = np.empty(x.shape, dtype=x.dtype)
    with region(blas=False):
        _max_pool_backward(np.ascontiguousarray(dy), np.ascontiguousarray(x), dx, *_pool_args(g))
    return dx
