"""The smooth activations: SiLU, GELU (exact and tanh), Softplus, Mish, LogSigmoid, Softsign
[ACT-5, ACT-6, ACT-7, ACT-11, ACT-12, ACT-14, ACT-15].

Elementwise, any shape (0-d included); float32 in, float32 out (the constants are Python
floats, which NumPy keeps at the array's precision). Stable at |x| = 1000: where e^x
overflows the result is its limit (as torch's), with no warning. ±∞ and NaN inputs give
torch's values, NaN where torch's own formula gives ∞·0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from ref_cnn._checks import as_float_array, check_mode
from ref_cnn.functional.activations import _pair, sigmoid

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)  # √(2/π), GELU's tanh form
GELU_KAPPA = 0.044715  # the cubic coefficient of GELU's tanh form (Hendrycks & Gimpel)


def silu(x) -> np.ndarray:
    """SiLU(x) = x·σ(x) [ACT-5] (swish with β = 1). Shape: any; y has x's shape and dtype."""
    x = as_float_array(x, "x")
    return np.asarray(x * sigmoid(x))  # ACT-5: x·σ(x)


def silu_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy·σ(x)·(1 + x·(1 − σ(x))) [ACT-5]."""
    _pair(dy, x, "x")
    s = sigmoid(x)
    return np.asarray(dy * s * (1 + x * (1 - s)))  # ACT-5: σ + x·σ(1 − σ)


def _approximate(approximate) -> str:
    return check_mode(approximate, ("none", "tanh"), "approximate")


def gelu(x, approximate: str = "none") -> np.ndarray:
    """GELU(x) = x·Φ(x) = x/2·(1 + erf(x/√2)) [ACT-6]; with approximate="tanh",
    x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) [ACT-7].

    Φ is the standard normal CDF. Shape: any; y has x's shape and dtype.
    """
    x = as_float_array(x, "x")
    if _approximate(approximate) == "tanh":
        inner = SQRT_2_OVER_PI * (x + GELU_KAPPA * x**3)
        return np.asarray(x / 2 * (1 + np.tanh(inner)))  # ACT-7: x/2·(1 + tanh(√(2/π)(x + κx³)))
    return np.asarray(x / 2 * (1 + erf(x / math.sqrt(2))))  # ACT-6: x·Φ(x)


def gelu_backward(dy, x, approximate: str = "none") -> np.ndarray:
    """∂E/∂x = dy·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π) [ACT-6]; for the tanh form
    dy·(½(1 + t) + x/2·(1 − t²)·√(2/π)·(1 + 3κx²)), t = tanh(√(2/π)(x + κx³)) [ACT-7]."""
    _pair(dy, x, "x")
    if _approximate(approximate) == "tanh":
        t = np.tanh(SQRT_2_OVER_PI * (x + GELU_KAPPA * x**3))
        # ACT-7: product rule on x/2 · (1 + t)
        slope = (1 + t) / 2 + x / 2 * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_KAPPA * x * x)
        return np.asarray(dy * slope)
    cdf = (1 + erf(x / math.sqrt(2))) / 2
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return np.asarray(dy * (cdf + x * pdf))  # ACT-6: Φ(x) + x·φ(x)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """Softplus(x) = (1/β)·log(1 + e^(βx)), and x itself where βx > threshold [ACT-11].

    The threshold is torch's switch to the linear asymptote (the two differ by
    log(1 + e^(−βx))/β < 2·10⁻⁹/β past the default 20). Shape: any.
    """
    x = as_float_array(x, "x")
    bx = x * beta
    with np.errstate(over="ignore"):  # e^(βx) = ∞ only where the linear branch is taken
        smooth = np.log1p(np.exp(bx)) / beta  # ACT-11: log(1 + e^(βx))/β
    return np.asarray(np.where(bx > threshold, x, smooth))


def softplus_backward(dy, x, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """∂E/∂x = dy·e^(βx)/(1 + e^(βx)) = dy·σ(βx) where βx ≤ threshold, dy where βx > threshold
    [ACT-11] (torch's sides: βx = threshold takes the smooth branch)."""
    _pair(dy, x, "x")
    bx = x * beta
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.exp(bx)
        smooth = dy * z / (z + 1)  # ACT-11: σ(βx) = e^(βx)/(1 + e^(βx))
    return np.asarray(np.where(bx > threshold, dy, smooth))


def _softplus_plain(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) with no threshold, as Mish uses it (∞ where eˣ overflows)."""
    with np.errstate(over="ignore"):
        return np.log1p(np.exp(x))


def mish(x) -> np.ndarray:
    """Mish(x) = x·tanh(softplus(x)), softplus(x) = log(1 + eˣ) [ACT-12]. Shape: any."""
    x = as_float_array(x, "x")
    return np.asarray(x * np.tanh(_softplus_plain(x)))  # ACT-12: x·tanh(log(1 + eˣ))


def mish_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy·(tanh(sp) + x·σ(x)·(1 − tanh²(sp))), sp = softplus(x) [ACT-12]
    (softplus′ = σ)."""
    _pair(dy, x, "x")
    t = np.tanh(_softplus_plain(x))
    return np.asarray(dy * (t + x * sigmoid(x) * (1 - t * t)))  # ACT-12: tanh(sp) + x·σ·sech²(sp)


def logsigmoid(x) -> np.ndarray:
    """LogSigmoid(x) = log σ(x) = min(x, 0) − log(1 + e^(−|x|)) [ACT-14], stable both ways.

    Shape: any; −∞ at x = −∞, 0 at x = +∞.
    """
    x = as_float_array(x, "x")
    return np.asarray(np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))))  # ACT-14: log σ(x)


def logsigmoid_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy·(1 − σ(x)) = dy·σ(−x) [ACT-14]."""
    _pair(dy, x, "x")
    return np.asarray(dy * sigmoid(np.asarray(-x)))  # ACT-14: (log σ)′ = σ′/σ = 1 − σ(x) = σ(−x)


def softsign(x) -> np.ndarray:
    """Softsign(x) = x/(1 + |x|) [ACT-15]. Shape: any; NaN at ±∞ (∞/∞), as torch."""
    x = as_float_array(x, "x")
    return np.asarray(x / (1 + np.abs(x)))  # ACT-15: x/(1 + |x|)


def softsign_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy·(1/(1 + |x|) − x·sgn(x)/(1 + |x|)²) = dy/(1 + |x|)² [ACT-15].

    Written as the quotient rule on torch's definition, so that x = ±∞ gives NaN as
    torch's autograd does (the simplified form would give 0).
    """
    _pair(dy, x, "x")
    d = 1 + np.abs(x)
    with np.errstate(invalid="ignore"):  # ∞/∞ at x = ±∞, as torch
        slope = 1 / d - x * np.sign(x) / (d * d)  # ACT-15: quotient rule, = 1/(1 + |x|)²
    return np.asarray(dy * slope)
