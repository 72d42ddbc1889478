"""Colour-space augmentation [MB-14]: grayscale, brightness, contrast, saturation, hue,
RGB ↔ HSV, with torchvision.transforms.v2.functional's formulas (float in [0, 1] or uint8)."""

from __future__ import annotations

import numpy as np

from ref_cnn.augment.common import cast_back, check_rgb, max_value

LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601-2 weights, as torchvision and PIL


def _luma(img: np.ndarray) -> np.ndarray:
    """(…, 1, H, W) float luminance, computed in the image's float type (float32 for uint8)."""
    work = img.dtype if img.dtype.kind == "f" else np.dtype(np.float32)
    r, g, b = (img[..., i, :, :].astype(work) for i in range(3))
    return (r * work.type(LUMA[0]) + g * work.type(LUMA[1]) + b * work.type(LUMA[2]))[
        ..., None, :, :
    ]


def rgb_to_grayscale(img: np.ndarray, num_output_channels: int = 1) -> np.ndarray:
    """L = 0.2989 R + 0.587 G + 0.114 B; 1 or 3 identical output channels."""
    img = check_rgb(img)
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}")
    if img.shape[-3] == 1:
        return np.repeat(img, num_output_channels, axis=-3)
    gray = cast_back(_luma(img), img)
    return np.repeat(gray, num_output_channels, axis=-3)


def grayscale_to_rgb(img: np.ndarray) -> np.ndarray:
    """A 1-channel image repeated to 3 channels (a 3-channel one is copied) [MB-14]."""
    img = check_rgb(img)
    return img.copy() if img.shape[-3] == 3 else np.repeat(img, 3, axis=-3)


def _blend(img: np.ndarray, other: np.ndarray, ratio: float) -> np.ndarray:
    """ratio·img + (1 − ratio)·other, clamped to the dtype's range."""
    work = img.dtype if img.dtype.kind == "f" else np.dtype(np.float32)
    out = img.astype(work) * work.type(ratio) + other.astype(work) * work.type(1.0 - ratio)
    return cast_back(np.clip(out, 0, max_value(img.dtype)), img)


def _check_factor(value: float, name: str) -> None:
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Multiply by `factor` (0: black, 1: unchanged), clamped."""
    img = check_rgb(img)
    _check_factor(factor, "brightness factor")
    work = img.dtype if img.dtype.kind == "f" else np.dtype(np.float32)
    return cast_back(np.clip(img.astype(work) * work.type(factor), 0, max_value(img.dtype)), img)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean grey level of each image (0: flat grey, 1: unchanged)."""
    img = check_rgb(img)
    _check_factor(factor, "contrast factor")
    if img.shape[-3] == 3:
        gray = _luma(img)
        if img.dtype.kind != "f":
            gray = np.floor(gray)
    else:
        gray = img.astype(img.dtype if img.dtype.kind == "f" else np.float32)
    return _blend(img, gray.mean(axis=(-3, -2, -1), keepdims=True), factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grayscale image (0: gray, 1: unchanged, > 1: more saturated)."""
    img = check_rgb(img)
    _check_factor(factor, "saturation factor")
    if img.shape[-3] == 1:
        return img.copy()
    gray = _luma(img)
    if img.dtype.kind != "f":
        gray = np.floor(gray)
    return _blend(img, gray, factor)


def rgb_to_hsv(img: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] → HSV in [0, 1] (hue as a fraction of a turn), PIL's algorithm."""
    img = check_rgb(img)
    if img.dtype.kind != "f" or img.shape[-3] != 3:
        raise TypeError("rgb_to_hsv needs a float RGB image in [0, 1]")
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    flat = maxc == minc
    span = maxc - minc
    one = np.ones_like(maxc)
    s = span / np.where(flat, one, maxc)
    div = np.where(flat, one, span)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    is_b = ~is_r & ~is_g
    h = (bc - gc) * is_r + (2.0 + rc - bc) * is_g + (4.0 + gc - rc) * is_b
    h = np.fmod(h / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3).astype(img.dtype)


def hsv_to_rgb(img: np.ndarray) -> np.ndarray:
    """HSV in [0, 1] → RGB in [0, 1]."""
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    h6 = h * 6
    sector = np.floor(h6)
    f = h6 - sector
    sector = np.mod(sector.astype(np.int64), 6)
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s + s * f), 0.0, 1.0)
    # (R, G, B) per sector from (v, p, q, t)
    table = np.array([[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]])
    vpqt = np.stack((v, p, q, t), axis=-3)
    pick = np.moveaxis(table[:, sector], 0, -3)
    return np.take_along_axis(vpqt, pick, axis=-3).astype(img.dtype)


def adjust_hue(img: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the hue by `factor` of a turn, factor ∈ [−0.5, 0.5]; computed in float32."""
    img = check_rgb(img)
    if not -0.5 <= factor <= 0.5:
        raise ValueError(f"hue factor must be in [-0.5, 0.5], got {factor}")
    if img.shape[-3] == 1:
        return img.copy()
    work = (
        img.astype(np.float32) / np.float32(255)
        if img.dtype == np.uint8
        else img.astype(np.float32)
    )
    hsv = rgb_to_hsv(work)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + np.float32(factor), np.float32(1.0))
    rgb = hsv_to_rgb(hsv)
    if img.dtype == np.uint8:
        return (rgb * np.float32(255 + 1.0 - 1e-3)).astype(np.uint8)  # torchvision's float → uint8
    return rgb.astype(img.dtype)
