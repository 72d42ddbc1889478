"""Adaptive average pooling, torch's window rule, for any output size [MB-8].

Output cell i along a dimension of size n averages input rows [⌊i·n/o⌋, ⌈(i+1)·n/o⌉).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, pair


def _bounds(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)  # ⌊i·n/o⌋, ⌈(i+1)·n/o⌉


def _weights(n: int, o: int, dtype) -> np.ndarray:
    """(o, n) matrix: row i averages its window, so pooling is A_h · x · A_wᵀ."""
    start, end = _bounds(n, o)
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _setup(x, output_size):
    x = as_float_array(x, "x", ndim=4)
    out = pair(output_size, "output_size", 1)
    return x, out, _weights(x.shape[2], out[0], x.dtype), _weights(x.shape[3], out[1], x.dtype)


def adaptive_avg_pool2d(x, output_size) -> np.ndarray:
    """Adaptive average pooling, as `torch.nn.functional.adaptive_avg_pool2d`.

    Args:
        x: (N, C, H, W); output_size: int or (int, int).

    Shape: (N, C, out_h, out_w). Windows may overlap when H is not a multiple of out_h.
    """
    x, _, ah, aw = _setup(x, output_size)
    return ah @ x @ aw.T  # separable: average rows, then columns


def adaptive_avg_pool2d_backward(dy, x, output_size) -> np.ndarray:
    """Gradient of `adaptive_avg_pool2d`: each dy spread evenly over its window."""
    x, out, ah, aw = _setup(x, output_size)
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, (*x.shape[:2], *out))
    return ah.T @ dy @ aw
