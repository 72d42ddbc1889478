"""Adaptive average and max pooling, torch's window rule, for any output size [MB-8, IC-8, IC-9].

Output cell i along a dimension of size n pools input rows [⌊i·n/o⌋, ⌈(i+1)·n/o⌉): the
windows cover the input exactly once when o divides n, and overlap by a row otherwise.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, batched, check_grad_shape, pair, same_dtype, unbatch


def _bounds(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)  # ⌊i·n/o⌋, ⌈(i+1)·n/o⌉


def _weights(n: int, o: int, dtype) -> np.ndarray:
    """(o, n) matrix: row i averages its window, so pooling is A_h · x · A_wᵀ."""
    start, end = _bounds(n, o)
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _output_size(output_size, in_hw: tuple[int, int]) -> tuple[int, int]:
    """int, (int,), (int, int) with None meaning "the input's size", as torch."""
    if isinstance(output_size, tuple | list) and len(output_size) == 2:
        output_size = tuple(n if o is None else o for o, n in zip(output_size, in_hw, strict=True))
    return pair(output_size, "output_size", 0)


def _setup(x, output_size):
    x4, added = batched(x)
    out = _output_size(output_size, x4.shape[2:])
    return x4, added, out


def adaptive_avg_pool2d(x, output_size) -> np.ndarray:
    """Adaptive average pooling, as `torch.nn.functional.adaptive_avg_pool2d` [MB-8, IC-9].

    y[n, c, i, j] = mean of x[n, c, ⌊i·H/o_h⌋ : ⌈(i+1)·H/o_h⌉, ⌊j·W/o_w⌋ : ⌈(j+1)·W/o_w⌉]

    Args:
        x: (N, C, H, W) or unbatched (C, H, W).
        output_size: int or (int, int); None in a pair keeps that input size.

    Shape: (N, C, o_h, o_w). Windows may overlap when H is not a multiple of o_h.
    """
    x4, added, out = _setup(x, output_size)
    ah, aw = _weights(x4.shape[2], out[0], x4.dtype), _weights(x4.shape[3], out[1], x4.dtype)
    return unbatch(ah @ x4 @ aw.T, added)  # separable: average rows, then columns


def adaptive_avg_pool2d_backward(dy, x, output_size) -> np.ndarray:
    """Gradient of `adaptive_avg_pool2d` [IC-9]: each dy spread evenly over its window."""
    x4, added, out = _setup(x, output_size)
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x4)
    check_grad_shape(dy, (*x.shape[:-2], *out))
    ah, aw = _weights(x4.shape[2], out[0], x4.dtype), _weights(x4.shape[3], out[1], x4.dtype)
    return unbatch(ah.T @ (dy[None] if added else dy) @ aw, added)


def _max_with_index(x4: np.ndarray, out: tuple[int, int]):
    """Window maxima (N, C, o_h, o_w) and their flat positions h·W + w in the (H, W) plane.

    Among ties the first position in row-major order wins, as torch; a NaN wins over
    any number.
    """
    n, c, h, w = x4.shape
    (h0, h1), (w0, w1) = _bounds(h, out[0]), _bounds(w, out[1])
    y = np.empty((n, c, *out), dtype=x4.dtype)
    index = np.empty((n, c, *out), dtype=np.int64)
    for i in range(out[0]):
        for j in range(out[1]):  # IC-8: the maximum of window (i, j) and where it is
            window = x4[:, :, h0[i] : h1[i], w0[j] : w1[j]]
            ww = window.shape[3]
            flat = window.reshape(n, c, -1)
            nan = np.isnan(flat)
            k = np.where(nan.any(axis=2), nan.argmax(axis=2), flat.argmax(axis=2))
            y[:, :, i, j] = np.take_along_axis(flat, k[..., None], axis=2)[..., 0]
            index[:, :, i, j] = (h0[i] + k // ww) * w + w0[j] + k % ww
    return y, index


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Adaptive max pooling, as `torch.nn.functional.adaptive_max_pool2d` [MB-8, IC-8].

    y[n, c, i, j] = max of x[n, c, ⌊i·H/o_h⌋ : ⌈(i+1)·H/o_h⌉, ⌊j·W/o_w⌋ : ⌈(j+1)·W/o_w⌉]

    Args:
        x: (N, C, H, W) or unbatched (C, H, W).
        output_size: int or (int, int); None in a pair keeps that input size.
        return_indices: also return where each maximum is, as flat indices h·W + w into
            its (H, W) plane (int64, torch's convention, the input of `max_unpool2d`).

    Shape: (N, C, o_h, o_w), and the indices of the same shape.
    """
    x4, added, out = _setup(x, output_size)
    y, index = _max_with_index(x4, out)
    if return_indices:
        return unbatch(y, added), unbatch(index, added)
    return unbatch(y, added)


def adaptive_max_pool2d_backward(dy, x, output_size) -> np.ndarray:
    """Gradient of `adaptive_max_pool2d` [IC-8]: each dy to its window's (first) maximum.

    Overlapping windows that share a maximum add their gradients there.
    """
    x4, added, out = _setup(x, output_size)
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x4)
    check_grad_shape(dy, (*x.shape[:-2], *out))
    _, index = _max_with_index(x4, out)
    n, c, h, w = x4.shape
    dx = np.zeros((n * c, h * w), dtype=x4.dtype)
    rows = np.repeat(np.arange(n * c), out[0] * out[1])
    np.add.at(dx, (rows, index.reshape(-1)), dy.reshape(-1))  # IC-8: to the maximum
    return unbatch(dx.reshape(x4.shape), added)
