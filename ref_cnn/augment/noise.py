"""Noise injection [MB-14]: Gaussian (as torchvision's gaussian_noise) and salt-and-pepper."""

from __future__ import annotations

import numpy as np

from ref_cnn.augment.common import check_image, check_rng


def gaussian_noise(
    img: np.ndarray,
    rng: np.random.Generator,
    mean: float = 0.0,
    sigma: float = 0.1,
    clip: bool = True,
) -> np.ndarray:
    """img + mean + σ·z, z ~ N(0, 1) per element, clamped to [0, 1] (or [0, 255] for uint8)."""
    img = check_image(img)
    check_rng(rng)
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}")
    if img.dtype.kind == "f":
        out = img + (
            mean + rng.standard_normal(img.shape).astype(img.dtype) * img.dtype.type(sigma)
        )
        return np.clip(out, 0, 1) if clip else out
    noise = (
        mean * 255 + rng.standard_normal(img.shape).astype(np.float32) * np.float32(sigma * 255)
    ).astype(np.int16)
    out = img.astype(np.int16) + noise
    return (np.clip(out, 0, 255) if clip else out).astype(np.uint8)


def salt_and_pepper(
    img: np.ndarray, rng: np.random.Generator, amount: float = 0.05, salt_ratio: float = 0.5
) -> np.ndarray:
    """Set a fraction `amount` of the pixels (all channels at once) to the maximum (salt) or
    zero (pepper), salt with probability `salt_ratio`."""
    img = check_image(img)
    check_rng(rng)
    if not (0 <= amount <= 1 and 0 <= salt_ratio <= 1):
        raise ValueError(f"amount and salt_ratio must be in [0, 1], got {amount}, {salt_ratio}")
    shape = (*img.shape[:-3], 1, *img.shape[-2:])
    hit = rng.random(shape) < amount
    salt = rng.random(shape) < salt_ratio
    high = 1 if img.dtype.kind == "f" else 255
    out = img.copy()
    np.copyto(out, np.asarray(high, dtype=img.dtype), where=np.broadcast_to(hit & salt, img.shape))
    np.copyto(out, np.asarray(0, dtype=img.dtype), where=np.broadcast_to(hit & ~salt, img.shape))
    return out
