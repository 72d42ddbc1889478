"""Activation functions and their derivatives [AV-6, AV-9, AV-13, MB-9].

Each forward has a backward taking the upstream gradient dy and whichever of the input
x or the output y its derivative is written in. All are stable at |x| = 1000 (no
overflow warnings), and NaN propagates as in torch. Each function is its equation;
ReLU's faster versions (`ref_cnn._fast.backend.alternative`) are tested equal to it.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype
from ref_cnn._fast.backend import alternative


def _pair(dy, ref, ref_name):
    as_float_array(dy, "dy")
    as_float_array(ref, ref_name)
    same_dtype(dy=dy, **{ref_name: ref})
    check_grad_shape(dy, ref.shape)


def sigmoid(x) -> np.ndarray:
    """σ(x) = 1/(1 + e^(−x)) [AV-6], any shape; float32 stays float32.

    Where e^(−x) overflows (x < −88 in float32, −709 in float64: AV's code warns there) the
    result is 1/∞ = 0, the limit, as torch's.
    """
    x = as_float_array(x, "x")
    with np.errstate(over="ignore"):  # e^(−x) = ∞ gives σ = 0, the limit
        return np.asarray(1 / (1 + np.exp(-x)))  # AV-6; an array for 0-d input too


def sigmoid_backward(dy, y) -> np.ndarray:
    """∂E/∂x = dy·σ′(x) with σ′ written on the output y = σ(x): y(1 − y) [AV-6, AV-9, AV-13].

    AV's `derivatives_sigmoid(x)` also takes the *output*, despite its argument's name.
    """
    _pair(dy, y, "y")
    return np.asarray(dy * y * (1 - y))  # AV-6: σ′ = A(1 − A); an array for 0-d input too


def relu(x) -> np.ndarray:
    """ReLU(x) = max(x, 0) [MB-9 ψ]; NaN stays NaN (np.maximum propagates it, as torch.relu)."""
    x = as_float_array(x, "x")
    fast = alternative("relu")
    if fast is not None:
        return fast(x)
    return np.asarray(np.maximum(x, 0))  # MB-9: ψ(z) = max(z, 0)


def relu_backward(dy, x) -> np.ndarray:
    """∂E/∂x = 0 where x ≤ 0, else dy [MB-9] (torch's choice at x = 0: gradient 0; where x is
    NaN dy passes, and where x ≤ 0 the gradient is 0 even for dy = ±∞ or NaN, as torch's
    threshold_backward)."""
    _pair(dy, x, "x")
    fast = alternative("relu_backward")
    if fast is not None:
        return fast(dy, x)
    return np.asarray(np.where(x <= 0, dy.dtype.type(0), dy))  # ψ′(z) = [z > 0]; NaN x passes dy


def leaky_relu(x, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU(x) = x for x > 0, negative_slope·x otherwise."""
    x = as_float_array(x, "x")
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(dy, x, negative_slope: float = 0.01) -> np.ndarray:
    """∂E/∂x = dy for x > 0, negative_slope·dy otherwise (as torch, also at x = 0)."""
    _pair(dy, x, "x")
    return np.where(x > 0, dy, dy * dy.dtype.type(negative_slope))


def tanh(x) -> np.ndarray:
    """tanh(x), any shape (an array for 0-d input too)."""
    return np.asarray(np.tanh(as_float_array(x, "x")))


def tanh_backward(dy, y) -> np.ndarray:
    """∂E/∂x = dy·(1 − y²), y = tanh(x)."""
    _pair(dy, y, "y")
    return np.asarray(dy * (1 - y * y))


def _check_axis(x: np.ndarray, axis: int) -> int:
    """A valid axis of x; a 0-D x (one value) takes axis 0 or −1, as torch's dim."""
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise ValueError(f"axis {axis} is out of range for an array of shape {x.shape}")
    return axis


def log_softmax(x, axis: int = 1) -> np.ndarray:
    """log softmax(x) = x − max − log Σ e^(x − max) along `axis` (default 1, the class axis)."""
    x = as_float_array(x, "x")
    _check_axis(x, axis)
    if x.ndim == 0:  # one value: log softmax = 0 (NaN stays NaN)
        return np.asarray(x - x)
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(dy, y, axis: int = 1) -> np.ndarray:
    """∂E/∂x = dy − softmax·Σ dy, with y = log_softmax(x)."""
    _pair(dy, y, "y")
    _check_axis(y, axis)
    if y.ndim == 0:
        return np.asarray(dy - np.exp(y) * dy)
    return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)


def softmax(x, axis: int = 1) -> np.ndarray:
    """softmax(x)_k = e^(x_k − max)/Σ_j e^(x_j − max) along `axis` (default 1)."""
    x = as_float_array(x, "x")
    _check_axis(x, axis)
    if x.ndim == 0:  # one value: softmax = 1 (NaN stays NaN)
        return np.asarray(x - x + 1)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(dy, y, axis: int = 1) -> np.ndarray:
    """∂E/∂x = y·(dy − Σ_k dy_k·y_k), with y = softmax(x)."""
    _pair(dy, y, "y")
    _check_axis(y, axis)
    if y.ndim == 0:
        return np.asarray(y * (dy - dy * y))
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))
