"""The piecewise-linear ("hard") activations: ReLU6, Hardtanh, hard sigmoid, hard swish
[ACT-1, ACT-2, ACT-3, ACT-4].

Elementwise, any shape (0-d included); float32 in, float32 out. At each kink the
derivative is torch's: the flat side's 0 at a clamp's bounds. Where x is NaN the gradient
is that of torch's vectorised CPU loop (0 for Hardtanh, ReLU6 and hard sigmoid, NaN for
hard swish); torch's scalar loop, which takes the last few elements of a tensor (fewer
than two SIMD vectors), passes dy there instead.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array
from ref_cnn.functional.activations import _pair


def _scalar(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0) -> np.ndarray:
    """Hardtanh(x) = min(max(x, min_val), max_val) [ACT-2].

    Shape: any; y has x's shape and dtype. NaN stays NaN. `min_val > max_val` is refused,
    as torch refuses it.
    """
    x = as_float_array(x, "x")
    lo, hi = _scalar(min_val, "min_val"), _scalar(max_val, "max_val")
    if lo > hi:
        raise ValueError(
            f"min_val cannot be greater than max_val (got min_val={lo}, max_val={hi}): swap them"
        )
    return np.asarray(np.clip(x, x.dtype.type(lo), x.dtype.type(hi)))  # ACT-2: clamp to [lo, hi]


def hardtanh_backward(dy, x, min_val: float = -1.0, max_val: float = 1.0) -> np.ndarray:
    """∂E/∂x = dy where min_val < x < max_val, else 0 [ACT-2].

    torch's rule at the bounds: x = min_val or x = max_val gives 0 (the flat side), and so
    does a NaN x (torch's vectorised loop).
    """
    _pair(dy, x, "x")
    lo, hi = _scalar(min_val, "min_val"), _scalar(max_val, "max_val")
    inside = (x > lo) & (x < hi)
    return np.asarray(np.where(inside, dy, 0), dtype=dy.dtype)  # ACT-2: dy·[lo < x < hi]


def relu6(x) -> np.ndarray:
    """ReLU6(x) = min(max(x, 0), 6) [ACT-1], Hardtanh on [0, 6] as in torch.

    Shape: any; y has x's shape and dtype.
    """
    return hardtanh(x, 0.0, 6.0)  # ACT-1: min(max(x, 0), 6)


def relu6_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy where 0 < x < 6, else 0 [ACT-1]; 0 at x = 0 and at x = 6, as torch."""
    return hardtanh_backward(dy, x, 0.0, 6.0)  # ACT-1: dy·[0 < x < 6]


def hardsigmoid(x) -> np.ndarray:
    """Hardsigmoid(x) = min(max(x + 3, 0), 6)/6 [ACT-3], 0 below −3 and 1 above 3.

    Shape: any; y has x's shape and dtype.
    """
    x = as_float_array(x, "x")
    return np.asarray(np.clip(x + 3, 0, 6) / 6)  # ACT-3: ReLU6(x + 3)/6


def hardsigmoid_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy/6 where −3 < x < 3, else 0 [ACT-3]; 0 at x = ±3 and where x is NaN, as torch.

    Notes: torch's CPU kernel multiplies by 1/6 rounded to float32 (1.0f/6.0f =
    0.1666666716…) in float64 too, 3·10⁻⁸ from 1/6; this is the exact 1/6.
    """
    _pair(dy, x, "x")
    inside = (x > -3) & (x < 3)
    return np.asarray(np.where(inside, dy / 6, 0), dtype=dy.dtype)  # ACT-3: dy/6·[−3 < x < 3]


def hardswish(x) -> np.ndarray:
    """Hardswish(x) = x·min(max(x + 3, 0), 6)/6 [ACT-4], x·Hardsigmoid(x).

    Shape: any; y has x's shape and dtype.
    """
    x = as_float_array(x, "x")
    return np.asarray(x * np.clip(x + 3, 0, 6) / 6)  # ACT-4: x·ReLU6(x + 3)/6


def hardswish_backward(dy, x) -> np.ndarray:
    """∂E/∂x = 0 for x ≤ −3, dy·(2x + 3)/6 for −3 < x < 3, dy for x ≥ 3 [ACT-4].

    torch's sides at the kinks: x = −3 takes the left piece (0), x = 3 the right one (dy);
    a NaN x takes the middle one, NaN (torch's vectorised loop).
    """
    _pair(dy, x, "x")
    middle = dy * (x / 3 + 0.5)  # ACT-4: d/dx x(x + 3)/6 = (2x + 3)/6 = x/3 + 1/2
    grad = np.where(x <= -3, 0, np.where(x >= 3, dy, middle))
    return np.asarray(grad, dtype=dy.dtype)
