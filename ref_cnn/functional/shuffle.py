"""Channel shuffle, pixel shuffle and pixel unshuffle [SPA-5, SPA-6, SPA-7].

Each is a fixed permutation of x's elements, written as torch defines it: a view that splits
an axis, a transpose, a view that merges axes back. The backward pass of a permutation is
its inverse, so each backward is the forward of its inverse op (transposes never round:
gradients are exact).

Inputs are (*, C, H, W) with any leading dimensions (torch: at least 3-D in all; pixel
(un)shuffle's leading dims are batch dims, channel shuffle's first is N).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_gradient, check_positive_int


def _at_least_3d(x, op: str) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.ndim < 3:
        raise ValueError(
            f"{op} needs an input of at least 3 dimensions (*, C, H, W), got {x.shape}"
        )
    return x


# ------------------------------------------------------------------ channel shuffle (SPA-5)


def _check_groups(x, groups) -> tuple[np.ndarray, int]:
    x = _at_least_3d(x, "channel_shuffle")
    g = check_positive_int(groups, "groups")
    if x.shape[1] % g:
        divisors = [d for d in range(1, x.shape[1] + 1) if x.shape[1] % d == 0]
        raise ValueError(
            f"channel_shuffle: the {x.shape[1]} channels must be divisible by groups = {g}; "
            f"groups can be {divisors}"
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
    dy = check_gradient(dy, x, x.shape)
    return _shuffle(dy, x.shape[1] // g)  # g·(C/g) and (C/g)·g: the inverse permutation


# ------------------------------------------------------------------ pixel (un)shuffle (SPA-6, 7)


def _checked(x, factor, name: str, to_space: bool):
    """(x, r, output shape) of pixel_shuffle (`to_space`) or pixel_unshuffle, after the checks."""
    op = "pixel_shuffle" if to_space else "pixel_unshuffle"
    x = _at_least_3d(x, op)
    r = check_positive_int(factor, name)
    *lead, c, h, w = x.shape
    if to_space and c % (r * r):
        raise ValueError(f"{op}: the {c} channels must be divisible by {name}² = {r * r}")
    if not to_space and (h % r or w % r):
        raise ValueError(f"{op}: height {h} and width {w} must be divisible by {name} {r}")
    if to_space:
        return x, r, (*lead, c // (r * r), h * r, w * r)
    return x, r, (*lead, c * r * r, h // r, w // r)


def _move(x: np.ndarray, r: int, to_space: bool) -> np.ndarray:
    """SPA-6 (`to_space`) or its inverse SPA-7: channel c·r² + i·r + j at (h, w) ⟷ channel c
    at (h·r + i, w·r + j). One reshape, one transpose, one reshape; each undoes the other."""
    *lead, c, h, w = x.shape
    lead_axes, a = range(len(lead)), len(lead)
    if to_space:  # (*, C·r², H, W) → (*, C, i, j, H, W) → (*, C, H, i, W, j)
        split = x.reshape(*lead, c // (r * r), r, r, h, w)
        moved = split.transpose(*lead_axes, a, a + 3, a + 1, a + 4, a + 2)
        return moved.reshape(*lead, c // (r * r), h * r, w * r)  # SPA-6
    split = x.reshape(*lead, c, h // r, r, w // r, r)  # (*, C, H, i, W, j) → (*, C, i, j, H, W)
    moved = split.transpose(*lead_axes, a, a + 2, a + 4, a + 1, a + 3)
    return moved.reshape(*lead, c * r * r, h // r, w // r)  # SPA-7


def pixel_shuffle(x, upscale_factor) -> np.ndarray:
    """Pixel shuffle [SPA-6]: y[…, c, h·r + i, w·r + j] = x[…, c·r² + i·r + j, h, w].

    Shape: x (*, C·r², H, W) → y (*, C, H·r, W·r), r = upscale_factor.
    """
    x, r, _ = _checked(x, upscale_factor, "upscale_factor", to_space=True)
    return _move(x, r, to_space=True)  # SPA-6


def pixel_shuffle_backward(dy, x, upscale_factor) -> np.ndarray:
    """∂E/∂x = pixel_unshuffle(dy, r) [SPA-6, SPA-7]."""
    x, r, shape = _checked(x, upscale_factor, "upscale_factor", to_space=True)
    return _move(check_gradient(dy, x, shape), r, to_space=False)  # SPA-7 undoes SPA-6


def pixel_unshuffle(x, downscale_factor) -> np.ndarray:
    """Pixel unshuffle [SPA-7]: y[…, c·r² + i·r + j, h, w] = x[…, c, h·r + i, w·r + j].

    Shape: x (*, C, H·r, W·r) → y (*, C·r², H, W), r = downscale_factor. An empty x gets
    this shape too (torch returns an empty input unchanged).
    """
    x, r, _ = _checked(x, downscale_factor, "downscale_factor", to_space=False)
    return _move(x, r, to_space=False)  # SPA-7


def pixel_unshuffle_backward(dy, x, downscale_factor) -> np.ndarray:
    """∂E/∂x = pixel_shuffle(dy, r) [SPA-6, SPA-7]."""
    x, r, shape = _checked(x, downscale_factor, "downscale_factor", to_space=False)
    return _move(check_gradient(dy, x, shape), r, to_space=True)  # SPA-6 undoes SPA-7
