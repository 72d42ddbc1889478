"""Geometric augmentation [MB-14]: crop (fixed, centre, random, with padding), flips, rotation.

Images are (C, H, W) or batches (N, C, H, W), float or uint8, with the semantics of
torchvision.transforms.v2.functional. Random transforms take a numpy Generator.
"""

from __future__ import annotations

import math

import numpy as np

from ref_cnn.augment.common import check_image, check_rng, to_pair


def hflip(img: np.ndarray) -> np.ndarray:
    """Mirror left ↔ right (the last axis)."""
    return check_image(img)[..., ::-1].copy()


def vflip(img: np.ndarray) -> np.ndarray:
    """Mirror top ↔ bottom."""
    return check_image(img)[..., ::-1, :].copy()


def pad(img: np.ndarray, padding, fill: float = 0) -> np.ndarray:
    """Constant padding: an int (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    img = check_image(img)
    if isinstance(padding, int):
        padding = (padding,) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        padding = padding * 2
    if len(padding) != 4 or min(padding) < 0:
        raise ValueError(f"padding must be an int ≥ 0 or 2 or 4 non-negative ints, got {padding}")
    left, top, right, bottom = padding
    widths = [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(img, widths, constant_values=fill)


def crop(img: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The (height, width) window whose top-left corner is (top, left); zeros wherever the
    window leaves the image (as torchvision)."""
    img = check_image(img)
    if height < 1 or width < 1:
        raise ValueError(f"crop size must be positive, got {(height, width)}")
    h, w = img.shape[-2:]
    out = np.zeros((*img.shape[:-2], height, width), dtype=img.dtype)
    r0, r1 = max(top, 0), min(top + height, h)
    c0, c1 = max(left, 0), min(left + width, w)
    if r0 < r1 and c0 < c1:
        out[..., r0 - top : r1 - top, c0 - left : c1 - left] = img[..., r0:r1, c0:c1]
    return out


def center_crop(img: np.ndarray, size) -> np.ndarray:
    """The centred (h, w) window; a crop larger than the image is zero-padded first.

    The offset is round((H − h)/2) with Python's round (halves to even), as torchvision.
    """
    img = check_image(img)
    ch, cw = to_pair(size, "size")
    h, w = img.shape[-2:]
    if ch > h or cw > w:  # pad, splitting odd amounts with the extra row/column at the end
        img = pad(
            img,
            (
                (cw - w) // 2 if cw > w else 0,
                (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0,
                (ch - h + 1) // 2 if ch > h else 0,
            ),
        )
        h, w = img.shape[-2:]
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return img[..., top : top + ch, left : left + cw].copy()


def random_crop_params(height: int, width: int, size, rng: np.random.Generator) -> tuple[int, int]:
    """A uniformly drawn (top, left) for a crop of `size` inside (height, width)."""
    check_rng(rng)
    ch, cw = to_pair(size, "size")
    if ch > height or cw > width:
        raise ValueError(
            f"crop size {(ch, cw)} is larger than the (padded) image {(height, width)}"
        )
    return int(rng.integers(0, height - ch + 1)), int(rng.integers(0, width - cw + 1))


def random_crop(
    img: np.ndarray, size, rng: np.random.Generator, padding=None, fill: float = 0
) -> np.ndarray:
    """Pad (optionally), then crop `size` at a random position; one position per call."""
    img = check_image(img)
    if padding is not None:
        img = pad(img, padding, fill)
    top, left = random_crop_params(*img.shape[-2:], size, rng)
    ch, cw = to_pair(size, "size")
    return crop(img, top, left, ch, cw)


def _inverse_rotation(angle: float, center: tuple[float, float]) -> list[float]:
    """Inverse affine map (output → input pixel offsets from the image centre) of a
    counter-clockwise rotation by `angle` degrees about `center`."""
    rot = math.radians(-angle)  # torchvision inverts the rotation direction for rotate()
    cos, sin = math.cos(rot), math.sin(rot)
    cx, cy = center
    # rotation matrix [[a, b], [c, d]] = [[cos, −sin], [sin, cos]]; its inverse is the transpose
    m = [cos, sin, 0.0, -sin, cos, 0.0]
    m[2] = cx - m[0] * cx - m[1] * cy
    m[5] = cy - m[3] * cx - m[4] * cy
    return m


def _expanded_size(m: list[float], w: int, h: int) -> tuple[int, int]:
    """Bounding box (w, h) of the rotated image, to 1e−4 precision before ceil/floor."""
    corners = np.array(
        [[-w / 2, -h / 2, 1.0], [-w / 2, h / 2, 1.0], [w / 2, h / 2, 1.0], [w / 2, -h / 2, 1.0]]
    )
    pts = corners @ np.array(m, dtype=np.float32).reshape(2, 3).T.astype(np.float64)
    lo, hi = pts.min(axis=0) + (w / 2, h / 2), pts.max(axis=0) + (w / 2, h / 2)
    hi = np.ceil(np.trunc(hi * 1e4) * 1e-4)
    lo = np.floor(np.trunc(lo * 1e4) * 1e-4)
    size = hi - lo
    return int(size[0]), int(size[1])


def rotate(
    img: np.ndarray,
    angle: float,
    interpolation: str = "nearest",
    expand: bool = False,
    center=None,
    fill=None,
) -> np.ndarray:
    """Rotate counter-clockwise by `angle` degrees, as torchvision's rotate.

    Args:
        img: (C, H, W) or (N, C, H, W), float or uint8.
        interpolation: "nearest" or "bilinear".
        expand: grow the output to hold the whole rotated image.
        center: (x, y) in pixels; default the image centre.
        fill: value for pixels from outside the image (None: 0, blended at the border as
            torchvision does with its mask).
    """
    img = check_image(img)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    angle = angle % 360
    if center is None:  # exact quarter turns are plain index shuffles
        if angle == 0:
            return img.copy()
        if angle == 180:
            return img[..., ::-1, ::-1].copy()
        if expand or img.shape[-1] == img.shape[-2]:
            if angle == 90:
                return np.rot90(img, 1, axes=(-2, -1)).copy()
            if angle == 270:
                return np.rot90(img, 3, axes=(-2, -1)).copy()
    h, w = img.shape[-2:]
    work = img.dtype if img.dtype.kind == "f" else np.dtype(np.float32)
    ix, iy = rotation_grid(h, w, angle, expand, center, work)
    src = img.astype(work, copy=False)
    if fill is None:
        out, _ = _sample(src, ix, iy, interpolation)
    else:
        out, mask = _sample(src, ix, iy, interpolation, with_mask=True)
        fills = np.asarray(
            fill if isinstance(fill, list | tuple) else [float(fill)], dtype=work
        ).reshape(-1, 1, 1)
        if interpolation == "nearest":
            out = np.where(mask < 0.5, fills, out)
        else:
            out = (out - fills) * mask + fills
    if img.dtype.kind != "f":
        out = np.rint(out).astype(img.dtype)
    return out


def rotation_grid(
    h: int, w: int, angle: float, expand: bool = False, center=None, dtype=np.float64
):
    """Input pixel coordinates (ix, iy), each (H_out, W_out), that every output pixel of a
    rotation samples; built as torch's affine_grid + grid_sample (align_corners=False)."""
    c = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    m = _inverse_rotation(angle % 360, c)
    ow, oh = _expanded_size(m, w, h) if expand else (w, h)
    work = np.dtype(dtype)
    theta = np.array(m, dtype=work).reshape(2, 3)
    xs = np.linspace((1.0 - ow) * 0.5, (ow - 1.0) * 0.5, ow, dtype=work)
    ys = np.linspace((1.0 - oh) * 0.5, (oh - 1.0) * 0.5, oh, dtype=work)
    base = np.stack(
        np.broadcast_arrays(xs[None, :], ys[:, None], np.ones((1, 1), work)), axis=-1
    )  # (oh, ow, 3)
    grid = base @ (theta.T / np.array([0.5 * w, 0.5 * h], dtype=work))  # normalised, (oh, ow, 2)
    # align_corners=False: g ∈ [−1, 1] ↦ pixel (g + 1)·size/2 − 0.5
    return ((grid[..., 0] + 1) * w - 1) / 2, ((grid[..., 1] + 1) * h - 1) / 2


def _sample(src, ix, iy, mode, with_mask=False):
    """grid_sample with zero padding: nearest (round half to even) or bilinear."""
    h, w = src.shape[-2:]
    ones = np.ones((h, w), dtype=src.dtype)
    if mode == "nearest":
        r, c = np.rint(iy).astype(np.int64), np.rint(ix).astype(np.int64)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        rr, cc = np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)
        out = np.where(inside, src[..., rr, cc], 0).astype(src.dtype)
        return out, inside.astype(src.dtype) if with_mask else None
    x0, y0 = np.floor(ix).astype(np.int64), np.floor(iy).astype(np.int64)
    fx, fy = (ix - x0).astype(src.dtype), (iy - y0).astype(src.dtype)
    out = np.zeros((*src.shape[:-2], *ix.shape), dtype=src.dtype)
    mask = np.zeros(ix.shape, dtype=src.dtype)
    for dy_, wy in ((0, 1 - fy), (1, fy)):
        for dx_, wx in ((0, 1 - fx), (1, fx)):
            r, c = y0 + dy_, x0 + dx_
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            weight = np.where(inside, wx * wy, 0).astype(src.dtype)
            rr, cc = np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)
            out += src[..., rr, cc] * weight
            if with_mask:
                mask += ones[rr, cc] * weight
    return out, mask
