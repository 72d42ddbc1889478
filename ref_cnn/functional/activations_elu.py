"""The exponential linear units: ELU, SELU, CELU [ACT-8, ACT-9, ACT-10].

Elementwise, any shape (0-d included); float32 in, float32 out. All three are torch's
`elu(x, α, scale, input_scale)`: scale·x for x > 0, scale·α·(e^(x·input_scale) − 1) for
x ≤ 0, with e^v − 1 computed as expm1 (exact near 0, as torch). At x = 0 the derivative is
the left piece's, scale·α·input_scale (torch's side). A NaN x gives a NaN gradient, as
torch's vectorised CPU loop does (its scalar loop, for a tensor's last few elements, gives
scale·dy there).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array
from ref_cnn.functional.activations import _pair

# Klambauer et al. 2017: the fixed point of mean 0 and variance 1 (torch's constants)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _elu(x: np.ndarray, alpha: float, scale: float, input_scale: float) -> np.ndarray:
    negative = alpha * np.expm1(np.minimum(x, 0) * input_scale)  # e^v − 1 for v ≤ 0 only
    return np.asarray(scale * np.where(x > 0, x, negative))


def _elu_backward(dy, x, alpha: float, scale: float, input_scale: float) -> np.ndarray:
    negative = dy * (alpha * input_scale) * np.exp(np.minimum(x, 0) * input_scale)
    return np.asarray(scale * np.where(x > 0, dy, negative))


def elu(x, alpha: float = 1.0) -> np.ndarray:
    """ELU(x) = x for x > 0, α·(eˣ − 1) for x ≤ 0 [ACT-8]. Shape: any."""
    x = as_float_array(x, "x")
    return _elu(x, alpha, 1.0, 1.0)  # ACT-8: x, or α(eˣ − 1)


def elu_backward(dy, x, alpha: float = 1.0) -> np.ndarray:
    """∂E/∂x = dy for x > 0, dy·α·eˣ for x ≤ 0 [ACT-8] (α at x = 0, as torch)."""
    _pair(dy, x, "x")
    return _elu_backward(dy, x, alpha, 1.0, 1.0)  # ACT-8: 1, or α·eˣ


def selu(x) -> np.ndarray:
    """SELU(x) = λ·x for x > 0, λ·α·(eˣ − 1) for x ≤ 0 [ACT-9], with α ≈ 1.6733 and
    λ ≈ 1.0507 (SELU_ALPHA, SELU_SCALE). Shape: any."""
    x = as_float_array(x, "x")
    return _elu(x, SELU_ALPHA, SELU_SCALE, 1.0)  # ACT-9: λ·ELU_α(x)


def selu_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy·λ for x > 0, dy·λ·α·eˣ for x ≤ 0 [ACT-9]."""
    _pair(dy, x, "x")
    return _elu_backward(dy, x, SELU_ALPHA, SELU_SCALE, 1.0)  # ACT-9: λ, or λα·eˣ


def _celu_alpha(alpha) -> float:
    if alpha == 0:
        raise ValueError("alpha cannot be 0 for CELU (it divides x): use a nonzero alpha")
    return float(alpha)


def celu(x, alpha: float = 1.0) -> np.ndarray:
    """CELU(x) = max(0, x) + min(0, α·(e^(x/α) − 1)) [ACT-10]. Shape: any; α ≠ 0."""
    x = as_float_array(x, "x")
    alpha = _celu_alpha(alpha)
    return _elu(x, alpha, 1.0, 1 / alpha)  # ACT-10: x, or α(e^(x/α) − 1)


def celu_backward(dy, x, alpha: float = 1.0) -> np.ndarray:
    """∂E/∂x = dy for x > 0, dy·e^(x/α) for x ≤ 0 [ACT-10] (1 at x = 0 on both sides).

    Notes: torch's backward takes 1/α from α rounded to float32 (`alpha.toFloat()`), so
    for an α that float32 does not hold exactly (0.3) its float64 gradient for x ≤ 0 is
    ~10⁻⁸ from e^(x/α); this is the exact derivative.
    """
    _pair(dy, x, "x")
    alpha = _celu_alpha(alpha)
    return _elu_backward(dy, x, alpha, 1.0, 1 / alpha)  # ACT-10: 1, or e^(x/α)
