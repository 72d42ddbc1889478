"""Data augmentation against torchvision.transforms.v2.functional [MB-14].

Exact (bit for bit) for crops, flips, padding, grayscale and nearest rotation; a stated
tolerance where torchvision computes in a different order (bilinear weights, colour blends).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import optional

from ref_cnn import augment as A

torch = optional("torch")
TF = optional("torchvision.transforms.v2.functional")

eq = pytest.mark.equation
pytestmark = eq("MB-14")


def images(dtype, batch=True, channels=3, h=9, w=11, seed=0):
    rng = np.random.default_rng(seed)
    shape = (2, channels, h, w) if batch else (channels, h, w)
    if dtype == np.uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    return rng.uniform(size=shape).astype(dtype)


def tv(fn, img, *args, **kw):
    return fn(torch.from_numpy(img.copy()), *args, **kw).numpy()


DTYPES = [
    pytest.param(np.float64, id="f64"),
    pytest.param(np.float32, id="f32"),
    pytest.param(np.uint8, id="u8"),
]
LAYOUTS = [pytest.param(True, id="batch"), pytest.param(False, id="single")]


@pytest.mark.parametrize("batch", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("ours", "theirs", "args"),
    [
        pytest.param(A.hflip, TF.horizontal_flip, (), id="hflip"),
        pytest.param(A.vflip, TF.vertical_flip, (), id="vflip"),
        pytest.param(A.crop, TF.crop, (2, 3, 5, 4), id="crop-inside"),
        pytest.param(A.crop, TF.crop, (-2, 7, 6, 6), id="crop-beyond-the-edges"),
        pytest.param(A.center_crop, TF.center_crop, ((4, 5),), id="center-crop"),
        pytest.param(A.center_crop, TF.center_crop, ((12, 6),), id="center-crop-larger-than-image"),
        pytest.param(A.pad, TF.pad, ((1, 2, 3, 0),), id="pad-ltrb"),
    ],
)
@pytest.mark.torchvision
def test_exact_operations(ours, theirs, args, dtype, batch):
    img = images(dtype, batch)
    np.testing.assert_array_equal(ours(img, *args), tv(theirs, img, *args))


@pytest.mark.parametrize("channels", [1, 3], ids=["1-channel", "3-channels"])
@pytest.mark.parametrize("batch", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.torchvision
def test_grayscale(dtype, batch, channels):
    """uint8 exact; float within 2 ulp: torch fuses g·0.587 and b·0.114 into the two
    additions (one rounding each instead of two), which NumPy cannot do."""
    img = images(dtype, batch)
    ours, theirs = A.rgb_to_grayscale(img, channels), tv(TF.rgb_to_grayscale, img, channels)
    if dtype == np.uint8:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_array_max_ulp(ours, theirs, maxulp=2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("angle", [30, -47.5, 90, 180, 270, 123])
@pytest.mark.parametrize("expand", [False, True], ids=["same-size", "expand"])
@pytest.mark.torchvision
def test_rotate_nearest_is_exact_except_at_half_pixel_ties(angle, expand, dtype):
    """Exact, except where a sampling point lies exactly halfway between two pixels (a
    quarter turn of a non-square image keeps its size only with half-pixel offsets): there
    the last bit of the grid, which BLAS computes in its own order, decides the rounding."""
    img = images(dtype, h=9, w=12)
    ours, theirs = A.rotate(img, angle, expand=expand), tv(TF.rotate, img, angle, expand=expand)
    assert ours.shape == theirs.shape
    if angle % 180 == 0 or (angle % 90 == 0 and expand):  # index shuffles, no sampling grid
        np.testing.assert_array_equal(ours, theirs)
        return
    ix, iy = A.geometry.rotation_grid(9, 12, angle, expand)
    tie = (np.abs(ix % 1 - 0.5) < 1e-9) | (np.abs(iy % 1 - 0.5) < 1e-9)
    differs = np.any(ours != theirs, axis=(0, 1))
    assert not np.any(differs & ~tie)
    if not expand and angle in (90, 270):
        assert tie.all()  # every point is a tie here
    else:
        assert not differs.any()


@pytest.mark.parametrize(
    ("dtype", "atol"),
    [
        # float64: torchvision's grid is built in the same dtype; only the summation order differs
        pytest.param(np.float64, 1e-12, id="f64"),
        # float32: grid coordinates rounded to float32 move the bilinear weights by ~1e-7
        pytest.param(np.float32, 2e-6, id="f32"),
        # uint8: computed in float32 then rounded; a weight off by ~1e-7 can flip one rounding
        pytest.param(np.uint8, 1, id="u8"),
    ],
)
@pytest.mark.parametrize(
    "kw",
    [
        dict(angle=30),
        dict(angle=-63, expand=True),
        dict(angle=17, center=(2, 3)),
        dict(angle=41, fill=0.5),
    ],
    ids=["30", "expand", "center", "fill"],
)
@pytest.mark.torchvision
def test_rotate_bilinear_within_stated_tolerance(kw, dtype, atol):
    img = images(dtype, h=10, w=8)
    ours = A.rotate(img, interpolation="bilinear", **kw)
    theirs = tv(TF.rotate, img, interpolation=TF.InterpolationMode.BILINEAR, **kw)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(
        ours.astype(np.float64), theirs.astype(np.float64), rtol=0, atol=atol
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.torchvision
def test_rotate_nearest_with_fill(dtype):
    img = images(dtype)
    np.testing.assert_array_equal(
        A.rotate(img, 33, fill=[0.1, 0.2, 0.3]), tv(TF.rotate, img, 33, fill=[0.1, 0.2, 0.3])
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("ours", "theirs", "factor"),
    [
        pytest.param(A.adjust_brightness, TF.adjust_brightness, 1.4, id="brightness"),
        pytest.param(A.adjust_contrast, TF.adjust_contrast, 0.6, id="contrast"),
        pytest.param(A.adjust_saturation, TF.adjust_saturation, 1.7, id="saturation"),
        pytest.param(A.adjust_hue, TF.adjust_hue, 0.21, id="hue"),
        pytest.param(A.adjust_hue, TF.adjust_hue, -0.4, id="hue-negative"),
    ],
)
@pytest.mark.torchvision
def test_colour_adjustments(ours, theirs, factor, dtype):
    """float: same formula, summation order may differ → 1e-6 (float32 arithmetic for hue);
    uint8: truncation after float32 arithmetic → at most 1 level apart, and rarely."""
    img = images(dtype)
    a, b = ours(img, factor).astype(np.float64), tv(theirs, img, factor).astype(np.float64)
    if dtype == np.uint8:
        assert np.abs(a - b).max() <= 1 and np.mean(a != b) < 0.01
    else:
        np.testing.assert_allclose(
            a, b, rtol=0, atol=1e-6 if dtype == np.float32 or ours is A.adjust_hue else 1e-12
        )


@pytest.mark.torchvision
def test_rgb_hsv_round_trip_and_torchvision_hsv():
    from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

    img = images(np.float64)
    hsv = A.rgb_to_hsv(img)
    np.testing.assert_allclose(hsv, _rgb_to_hsv(torch.from_numpy(img)).numpy(), atol=1e-12)
    np.testing.assert_allclose(
        A.hsv_to_rgb(hsv), _hsv_to_rgb(torch.from_numpy(hsv)).numpy(), atol=1e-12
    )
    np.testing.assert_allclose(A.hsv_to_rgb(hsv), img, atol=1e-12)


@pytest.mark.torchvision
def test_random_crop_is_a_crop_of_the_padded_image_and_seeded():
    img = images(np.float64, batch=False)
    a = A.random_crop(img, (6, 7), np.random.default_rng(3), padding=2)
    b = A.random_crop(img, (6, 7), np.random.default_rng(3), padding=2)
    np.testing.assert_array_equal(a, b)
    top, left = A.random_crop_params(13, 15, (6, 7), np.random.default_rng(3))
    np.testing.assert_array_equal(a, tv(TF.crop, tv(TF.pad, img, [2]), top, left, 6, 7))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.torchvision
def test_gaussian_noise_formula_and_statistics(dtype):
    img = images(dtype, h=64, w=64)
    ours = A.gaussian_noise(img, np.random.default_rng(0), mean=0.0, sigma=0.1, clip=False)
    z = np.random.default_rng(0).standard_normal(img.shape)
    if dtype == np.uint8:
        expected = (
            img.astype(np.int16) + (z.astype(np.float32) * np.float32(25.5)).astype(np.int16)
        ).astype(np.uint8)
        np.testing.assert_array_equal(ours, expected)
    else:
        np.testing.assert_allclose(ours, img + z.astype(dtype) * dtype(0.1), rtol=1e-6)
        diff = (ours - img).astype(np.float64)
        assert abs(diff.mean()) < 0.005 and abs(diff.std() - 0.1) < 0.005
        clipped = A.gaussian_noise(img, np.random.default_rng(0), mean=5.0, sigma=0.0)
        np.testing.assert_array_equal(clipped, tv(TF.gaussian_noise, img, mean=5.0, sigma=0.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_salt_and_pepper(dtype):
    img = images(dtype, h=100, w=100)
    out = A.salt_and_pepper(img, np.random.default_rng(1), amount=0.1, salt_ratio=0.3)
    changed = np.any(out != img, axis=-3)
    top = 1 if dtype != np.uint8 else 255
    salted = np.all(out == top, axis=-3)
    peppered = np.all(out == 0, axis=-3)
    assert abs(changed.mean() - 0.1) < 0.01
    assert abs(salted.sum() / (salted.sum() + peppered.sum()) - 0.3) < 0.05
    np.testing.assert_array_equal(
        out, A.salt_and_pepper(img, np.random.default_rng(1), amount=0.1, salt_ratio=0.3)
    )


def test_augment_batch_is_seeded_and_keeps_shape():
    x = images(np.float64, h=28, w=28)
    a = A.augment_batch(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, A.augment_batch(x, np.random.default_rng(5)))
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    assert not np.array_equal(a, A.augment_batch(x, np.random.default_rng(6)))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: A.hflip(np.zeros((4, 4))), ValueError, "must be"),
        (lambda: A.hflip(np.zeros((1, 4, 4), np.int32)), TypeError, "float or uint8"),
        (lambda: A.rotate(np.zeros((1, 4, 4)), 10, "bicubic"), ValueError, "interpolation"),
        (lambda: A.adjust_hue(np.zeros((3, 4, 4)), 0.7), ValueError, "hue factor"),
        (lambda: A.adjust_brightness(np.zeros((3, 4, 4)), -1), ValueError, "non-negative"),
        (
            lambda: A.random_crop(np.zeros((1, 4, 4)), 5, np.random.default_rng(0)),
            ValueError,
            "larger than",
        ),
        (lambda: A.gaussian_noise(np.zeros((1, 4, 4)), 0), TypeError, "Generator"),
        (lambda: A.adjust_saturation(np.zeros((2, 4, 4)), 1.0), ValueError, "1 or 3 channels"),
    ],
    ids=[
        "2d",
        "int32",
        "bicubic",
        "hue-range",
        "negative-factor",
        "crop-too-big",
        "no-generator",
        "two-channels",
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
