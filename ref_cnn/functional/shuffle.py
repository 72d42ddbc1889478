"""Channel shuffle, pixel shuffle and pixel unshuffle [SPA-5, SPA-6, SPA-7].

Each is a fixed permutation of x's elements, written as torch defines it: a view that splits
an axis, a transpose, a view that merges axes back. The backward pass of a permutation is
its inverse, so each backward is the forward of its inverse op (transposes never round:
gradients are exact).

Inputs are (*, C, H, W) with any leading dimensions (torch: at least 3-D in all; pixel
(un)shuffle's leading dims are batch dims, channel shuffle's first is N).
"""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def _at_least_3d(x, op: str) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.ndim < 3:
        raise ValueError(
            f"{op} needs an input of at least 3 dimensions (*, C, H, W), got {x.shape}"
        )
    return x


def _gradient(dy, x, expected: tuple[int, ...]) -> np.ndarray:
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, expected)
    return dy


# ------------------------------------------------------------------ channel shuffle (SPA-5)


def _check_groups(x, groups) -> tuple[np.ndarray, int]:
    x = _at_least_3d(x, "channel_shuffle")
    g = _positive_int(groups, "groups")
    if x.shape[1] % g:
        raise ValueError(
            f"channel_shuffle: the {x.shape[1]} channels must be divisible by groups = {g}"
        )
    return x, g


def _shuffle(x: np.ndarray, g: int) -> np.ndarray:
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    grouped = x.reshape(n, g, c // g, *rest)  # (N, g, C/g, …)
    return np.swapaxes(grouped, 1, 2).reshape(x.shape)  # SPA-5: (N, C/g, g, …) → (N, C, …)


def channel_shuffle(x, groups) -> np.ndarray:
    """Channel shuffle [SPA-5] (ShuffleNet): y[:, j·g + i] = x[:, i·(C/g) + j], i < g, j < C/g.

    Shape: x (N, C, *) with C divisible by `groups` → y (N, C, *).
    """
    x, g = _check_groups(x, groups)
    return _shuffle(x, g)


def channel_shuffle_backward(dy, x, groups) -> np.ndarray:
    """∂E/∂x = the inverse shuffle of dy [SPA-5]: channel_shuffle(dy, C/groups)."""
    x, g = _check_groups(x, groups)
    dy = _gradient(dy, x, x.shape)
    return _shuffle(dy, x.shape[1] // g)  # g·(C/g) and (C/g)·g: the inverse permutation


# ------------------------------------------------------------------ pixel (un)shuffle (SPA-6, 7)


def _shuffle_shape(x, r: int) -> tuple[int, ...]:
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(
            f"pixel_shuffle: the {c} channels must be divisible by upscale_factor² = {r * r}"
        )
    return (*lead, c // (r * r), h * r, w * r)


def _unshuffle_shape(x, r: int) -> tuple[int, ...]:
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle: height {h} and width {w} must be divisible by downscale_factor {r}"
        )
    return (*lead, c * r * r, h // r, w // r)


def _pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    *lead, c, h, w = x.shape
    split = x.reshape(*lead, c // (r * r), r, r, h, w)  # (*, C, i, j, H, W)
    lead_axes, a = range(len(lead)), len(lead)
    moved = split.transpose(*lead_axes, a, a + 3, a + 1, a + 4, a + 2)  # (*, C, H, i, W, j)
    return moved.reshape(*lead, c // (r * r), h * r, w * r)  # SPA-6: row h·r + i, col w·r + j


def _pixel_unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    *lead, c, hr, wr = x.shape
    split = x.reshape(*lead, c, hr // r, r, wr // r, r)  # (*, C, H, i, W, j)
    lead_axes, a = range(len(lead)), len(lead)
    moved = split.transpose(*lead_axes, a, a + 2, a + 4, a + 1, a + 3)  # (*, C, i, j, H, W)
    return moved.reshape(*lead, c * r * r, hr // r, wr // r)  # SPA-7: channel c·r² + i·r + j


def pixel_shuffle(x, upscale_factor) -> np.ndarray:
    """Pixel shuffle [SPA-6]: y[…, c, h·r + i, w·r + j] = x[…, c·r² + i·r + j, h, w].

    Shape: x (*, C·r², H, W) → y (*, C, H·r, W·r), r = upscale_factor.
    """
    x = _at_least_3d(x, "pixel_shuffle")
    r = _positive_int(upscale_factor, "upscale_factor")
    _shuffle_shape(x, r)
    return _pixel_shuffle(x, r)


def pixel_shuffle_backward(dy, x, upscale_factor) -> np.ndarray:
    """∂E/∂x = pixel_unshuffle(dy, r) [SPA-6, SPA-7]."""
    x = _at_least_3d(x, "pixel_shuffle")
    r = _positive_int(upscale_factor, "upscale_factor")
    dy = _gradient(dy, x, _shuffle_shape(x, r))
    return _pixel_unshuffle(dy, r)


def pixel_unshuffle(x, downscale_factor) -> np.ndarray:
    """Pixel unshuffle [SPA-7]: y[…, c·r² + i·r + j, h, w] = x[…, c, h·r + i, w·r + j].

    Shape: x (*, C, H·r, W·r) → y (*, C·r², H, W), r = downscale_factor. An empty x gets
    this shape too (torch returns an empty input unchanged).
    """
    x = _at_least_3d(x, "pixel_unshuffle")
    r = _positive_int(downscale_factor, "downscale_factor")
    _unshuffle_shape(x, r)
    return _pixel_unshuffle(x, r)


def pixel_unshuffle_backward(dy, x, downscale_factor) -> np.ndarray:
    """∂E/∂x = pixel_shuffle(dy, r) [SPA-6, SPA-7]."""
    x = _at_least_3d(x, "pixel_unshuffle")
    r = _positive_int(downscale_factor, "downscale_factor")
    dy = _gradient(dy, x, _unshuffle_shape(x, r))
    return _pixel_shuffle(dy, r)
