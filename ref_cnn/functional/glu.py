"""GLU, the gated linear unit [ACT-16]: one half of x gated by the sigmoid of the other."""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype
from ref_cnn.functional.activations import sigmoid


def _halves(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, int]:
    if x.ndim == 0:
        raise ValueError("glu does not support 0-d x: it halves an axis, so give x at least one")
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim {dim} is out of range for x of shape {x.shape}")
    dim = int(dim) % x.ndim
    if x.shape[dim] % 2:
        raise ValueError(
            f"glu halves dim {dim}, which must be even; x has shape {x.shape} (size "
            f"{x.shape[dim]} there)"
        )
    a, b = np.split(x, 2, axis=dim)
    return a, b, dim


def glu(x, dim: int = -1) -> np.ndarray:
    """GLU(x) = a ⊗ σ(b) [ACT-16], a and b the first and second halves of x along `dim`.

    Shape: x (…, 2n, …) → y (…, n, …) along dim; any number of axes ≥ 1.
    """
    x = as_float_array(x, "x")
    a, b, _ = _halves(x, dim)
    return np.asarray(a * sigmoid(b))  # ACT-16: a ⊗ σ(b)


def glu_backward(dy, x, dim: int = -1) -> np.ndarray:
    """∂E/∂x = [dy ⊗ σ(b), dy ⊗ a ⊗ σ(b)(1 − σ(b))] joined along dim [ACT-16].

    Shape: dy has y's shape (x's, halved along dim); dx has x's shape.
    """
    x = as_float_array(x, "x")
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    a, b, axis = _halves(x, dim)
    check_grad_shape(dy, a.shape)
    s = sigmoid(b)
    da = dy * s  # ACT-16: ∂y/∂a = σ(b)
    db = dy * a * s * (1 - s)  # ACT-16: ∂y/∂b = a·σ(b)(1 − σ(b))
    return np.concatenate([da, db], axis=axis)
