"""Argument checks shared by the augmentation functions."""

from __future__ import annotations

import numbers

import numpy as np


def check_image(img) -> np.ndarray:
    """(C, H, W) or (N, C, H, W), float or uint8 (as torchvision's tensor kernels accept)."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray, got {type(img).__name__}")
    if img.ndim not in (3, 4):
        raise ValueError(f"image must be (C, H, W) or (N, C, H, W), got shape {img.shape}")
    if img.dtype.kind != "f" and img.dtype != np.uint8:
        raise TypeError(f"image must be float or uint8, got {img.dtype}")
    return img


def check_rgb(img) -> np.ndarray:
    """The image checked by `check_image`, and with 1 or 3 channels (ValueError otherwise)."""
    img = check_image(img)
    if img.shape[-3] not in (1, 3):
        raise ValueError(f"colour operations need 1 or 3 channels, got {img.shape[-3]}")
    return img


def check_rng(rng) -> np.random.Generator:
    """`rng` itself if it is a numpy Generator, else TypeError (no hidden global state)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def to_pair(size, name: str) -> tuple[int, int]:
    """An int or a pair of positive ints as (h, w), or ValueError naming `name`."""
    if isinstance(size, numbers.Integral):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"{name} must be a positive int or a pair, got {size}")
    return size


def max_value(dtype) -> float:
    """The value of full intensity: 1.0 for float images, 255 for integer ones."""
    return 1.0 if np.dtype(dtype).kind == "f" else 255.0


def cast_back(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """float result → the input's dtype; uint8 truncates toward zero as torch's .to(uint8)."""
    return out if like.dtype.kind == "f" else out.astype(like.dtype)
