"""PReLU, the rectifier with a learned negative slope per channel [ACT-13].

x is (N, C, *) or any shape; the weight holds one slope for every element, or one per
channel (dim 1, torch's channel axis). Its gradient is the slope's: Σ x·dy over the
elements x ≤ 0 of its channel.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype


def _slopes(x: np.ndarray, weight) -> np.ndarray:
    """The weight broadcast against x: a scalar view, or (1, C, 1, …) for C channels."""
    weight = as_float_array(weight, "weight")
    same_dtype(x=x, weight=weight)
    if weight.ndim > 1:
        raise ValueError(
            f"weight must be a scalar or 1-D (one slope, or one per channel), got shape {weight.shape}"
        )
    if weight.size == 1:
        return weight.reshape(())
    if x.ndim == 0:
        raise ValueError(
            f"a 0-d x has no channel axis: weight must have 1 element, got {weight.size}"
        )
    channels = x.shape[1] if x.ndim > 1 else 1
    if weight.size != channels:
        raise ValueError(
            f"weight has {weight.size} slopes but x has {channels} channels (dim 1 of "
            f"shape {x.shape}): give one slope, or one per channel"
        )
    return weight.reshape((1, channels) + (1,) * (x.ndim - 2))


def prelu(x, weight) -> np.ndarray:
    """PReLU(x) = x for x > 0, a_c·x otherwise [ACT-13], a_c = weight[c] for channel c
    (dim 1), or the one weight for every element.

    Shape: x (N, C, *), any shape with a 1-element weight; weight () or (1,), or (C,);
    y has x's shape.
    """
    x = as_float_array(x, "x")
    a = _slopes(x, weight)
    return np.asarray(np.where(x > 0, x, a * x))  # ACT-13: max(0, x) + a·min(0, x)


def prelu_backward(dy, x, weight) -> tuple[np.ndarray, np.ndarray]:
    """(∂E/∂x, ∂E/∂weight) [ACT-13]: ∂E/∂x = dy for x > 0, a_c·dy otherwise (a_c at x = 0,
    as torch); ∂E/∂a_c = Σ over channel c's elements with x ≤ 0 of x·dy.

    Shape: dx has x's shape, dweight the weight's.
    """
    x = as_float_array(x, "x")
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, x.shape)
    a = _slopes(x, weight)
    dx = np.where(x > 0, dy, a * dy)  # ACT-13: ∂y/∂x = 1 or a_c
    per_element = np.where(x > 0, 0, x * dy)  # ACT-13: ∂y/∂a_c = x where x ≤ 0
    weight = np.asarray(weight)
    if weight.size == 1:
        dweight = per_element.sum()
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1) if x.ndim > 1 else ()
        dweight = per_element.sum(axis=axes)
    return np.asarray(dx), np.asarray(dweight, dtype=x.dtype).reshape(weight.shape)
