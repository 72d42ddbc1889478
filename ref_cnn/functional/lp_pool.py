"""Power-average (LP) pooling, forward and backward [SPA-4].

torch defines `lp_pool2d` through average pooling (`torch.nn.functional.lp_pool2d`):

    s = avg_pool2d(x^p, kernel_size, stride, padding=0, ceil_mode)
    y = (sign(s)·relu(|s|)·k_H·k_W)^(1/p)

For a whole window that is (Σ_window x^p)^(1/p), the p-norm of the window for even p.
This module writes exactly that chain, so that it agrees with torch also where torch's
definition is not the p-norm: a window that `ceil_mode` clips is averaged over the cells it
holds and then multiplied by the full k_H·k_W; a negative x with a non-integer p gives NaN
(x^p), and a negative window sum with 1/p non-integer gives NaN too (odd p, negative x).
Where the window sum is 0 the gradient is 0 (relu's gradient at 0; torch's documented
rule), even where (1/p)·v^(1/p − 1) is ∞. p = +∞ is max pooling of |x|, p = −∞ the
negated max pooling of −|x| (the minimum of |x|), as torch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, pair, same_dtype
from ref_cnn.functional.pool import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)


def _norm(norm_type) -> float:
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type must be a non-zero real number, got {norm_type!r}")
    if norm_type == 0:
        raise ValueError(f"norm_type must be a non-zero value, but got {norm_type}")
    if math.isnan(norm_type):
        raise ValueError("norm_type must be a non-zero real number, got nan")
    return float(norm_type)


def _area(kernel_size) -> int:
    kh, kw = pair(kernel_size, "kernel_size", 1)
    return kh * kw


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False) -> np.ndarray:
    """LP pooling [SPA-4]: y = (sign(s)·relu(|s|)·k_H·k_W)^(1/p), s = avg_pool2d(x^p).

    For whole windows: y = (Σ_window x^p)^(1/p). p = ±∞: max pooling of ±|x| (negated).

    Shape: x (N, C, H, W) or (C, H, W) → (…, H_out, W_out), H_out = ⌊(H − k_H)/s_H⌋ + 1
    (⌈ ⌉ with ceil_mode, as avg_pool2d); no padding.
    """
    x = as_float_array(x, "x")
    p = _norm(norm_type)
    if p == math.inf:
        return max_pool2d(np.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    if p == -math.inf:
        return -max_pool2d(-np.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s = avg_pool2d(x**p, kernel_size, stride, 0, ceil_mode)  # SPA-4: mean of x^p
        v = np.sign(s) * np.maximum(np.abs(s), 0) * _area(kernel_size)  # k_H·k_W·mean = Σ
        return v ** (1.0 / p)  # SPA-4: (Σ x^p)^(1/p)


def lp_pool2d_backward(dy, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """∂E/∂x for `lp_pool2d` [SPA-4], torch's chain rule step by step:

        ∂E/∂v = dy·(1/p)·v^(1/p − 1)                       (v = sign(s)·relu(|s|)·k_H·k_W)
        ∂E/∂s = ∂E/∂v·k_H·k_W·[|s| > 0]                      (sign(s)² = 1; relu's gradient)
        ∂E/∂x = p·x^(p − 1) · avg_pool2d_backward(∂E/∂s)

    p = ±∞: max pooling's gradient (to the first maximum of |x|), times sign(x).
    Returns dx, shaped like x.
    """
    x = as_float_array(x, "x")
    p = _norm(norm_type)
    if abs(p) == math.inf:
        u = np.abs(x) if p > 0 else -np.abs(x)
        du = max_pool2d_backward(dy if p > 0 else -dy, u, kernel_size, stride, 0, 1, ceil_mode)
        return (du if p > 0 else -du) * np.sign(x)  # |x|′ = sign(x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        xp = x**p
        s = avg_pool2d(xp, kernel_size, stride, 0, ceil_mode)
        dy = as_float_array(dy, "dy")
        same_dtype(dy=dy, x=x)
        check_grad_shape(dy, s.shape)
        relu_abs = np.maximum(np.abs(s), 0)
        v = np.sign(s) * relu_abs * _area(kernel_size)
        dv = dy * ((1.0 / p) * v ** (1.0 / p - 1))  # d v^(1/p)
        drelu = np.where(relu_abs <= 0, 0, dv * _area(kernel_size) * np.sign(s))  # relu at 0: 0
        ds = drelu * np.sign(s)  # |s|′ = sign(s); sign′ = 0
        dxp = avg_pool2d_backward(ds, xp, kernel_size, stride, 0, ceil_mode)
        return dxp * (p * x ** (p - 1))  # d x^p
