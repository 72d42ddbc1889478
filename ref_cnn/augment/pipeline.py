"""The training command's --augment: a random mix of MB-14's transforms per image."""

from __future__ import annotations

import numpy as np

from ref_cnn.augment.common import check_rng
from ref_cnn.augment.geometry import random_crop, rotate
from ref_cnn.augment.noise import gaussian_noise


def augment_batch(
    x: np.ndarray,
    rng: np.random.Generator,
    max_angle: float = 12.0,
    shift: int = 2,
    sigma: float = 0.05,
) -> np.ndarray:
    """Digits: a random rotation (±max_angle°, bilinear), a random shift (pad `shift`, crop back),
    and Gaussian noise, per image of an (N, C, H, W) float batch in [0, 1]. Same seed, same batch.

    (Flips are left out: a mirrored digit is another symbol.)
    """
    check_rng(rng)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        img = rotate(x[i], float(rng.uniform(-max_angle, max_angle)), "bilinear")
        img = random_crop(img, x.shape[-2:], rng, padding=shift)
        out[i] = gaussian_noise(img, rng, sigma=sigma)
    return out
