"""correlate2d / convolve2d against scipy.signal, torch and the articles' own numbers.

[AV-1, MB-1, MB-2, IC-1, IC-2, IC-3]
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from helpers import n, optional, t

from ref_cnn import literal
from ref_cnn.functional import HEF, VEF, conv2d, convolve2d, correlate2d

tf = optional("torch.nn.functional")

eq = pytest.mark.equation

SHAPES = [
    pytest.param((5, 6), (3, 3), id="5x6-k3x3"),
    pytest.param((7, 4), (2, 3), id="7x4-k2x3-nonsquare"),
    pytest.param((6, 6), (4, 2), id="6x6-k4x2-even"),
    pytest.param((4, 4), (4, 4), id="kernel-as-large-as-input"),
    pytest.param((3, 8), (1, 1), id="k1x1"),
]
MODES = ["valid", "same", "full"]


@eq("AV-1")
@pytest.mark.torch
def test_av1_worked_example():
    """The article's numbers: X = [[1,7,2],[11,1,23],[2,2,2]], f = [[1,1],[0,1]] → [[9,32],[14,26]]."""
    x = np.array([[1, 7, 2], [11, 1, 23], [2, 2, 2]])
    f = np.array([[1, 1], [0, 1]])
    expected = np.array([[9, 32], [14, 26]])
    np.testing.assert_array_equal(correlate2d(x, f), expected)
    np.testing.assert_array_equal(literal.correlate2d(x, f), expected)
    x4 = x.astype(np.float64)[None, None]
    np.testing.assert_array_equal(
        n(tf.conv2d(t(x4), t(f.astype(np.float64)[None, None])))[0, 0], expected
    )


@eq("MB-1")
@pytest.mark.torch
def test_mb1_vertical_edge_filter_on_step_image():
    """6×6 image, bright left half (10) and dark right half (0): VEF responds only at the edge."""
    image = np.zeros((6, 6))
    image[:, :3] = 10.0
    response = correlate2d(image, VEF)
    expected = np.tile([0.0, 30.0, 30.0, 0.0], (4, 1))  # columns that straddle the edge
    np.testing.assert_array_equal(response, expected)
    np.testing.assert_array_equal(correlate2d(image, HEF), np.zeros((4, 4)))  # no horizontal edge
    np.testing.assert_array_equal(HEF, VEF.T)
    torch_response = n(tf.conv2d(t(image[None, None]), t(VEF[None, None])))[0, 0]
    np.testing.assert_array_equal(response, torch_response)
    # the horizontal filter finds the same edge in the transposed image
    np.testing.assert_array_equal(correlate2d(image.T, HEF), expected.T)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("a_shape", "k_shape"), SHAPES)
@eq("IC-1", "IC-3", "MB-2", "AV-1")
def test_correlate2d_matches_scipy(a_shape, k_shape, mode, parity):
    rng = np.random.default_rng(0)
    a, k = rng.standard_normal(a_shape), rng.standard_normal(k_shape)
    parity("y", correlate2d(a, k, mode), ss.correlate2d(a, k, mode), witness="scipy.signal")
    parity("y", correlate2d(a, k, mode), literal.correlate2d(a, k, mode), witness="literal loops")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("a_shape", "k_shape"), SHAPES)
@eq("IC-2", "IC-3")
def test_convolve2d_matches_scipy(a_shape, k_shape, mode, parity):
    rng = np.random.default_rng(1)
    a, k = rng.standard_normal(a_shape), rng.standard_normal(k_shape)
    parity("y", convolve2d(a, k, mode), ss.convolve2d(a, k, mode), witness="scipy.signal")
    if mode != "same":  # scipy centres "same" differently for the two operations
        # IC-2: convolution is correlation with the kernel rotated by 180°
        rotated = correlate2d(a, np.rot90(k, 2), mode)
        parity("y", convolve2d(a, k, mode), rotated, witness="rot180 identity")


@pytest.mark.parametrize(("a_shape", "k_shape"), SHAPES)
@eq("IC-1", "MB-2")
@pytest.mark.torch
def test_correlate2d_valid_matches_torch_conv2d(a_shape, k_shape, parity):
    rng = np.random.default_rng(2)
    a, k = rng.standard_normal(a_shape), rng.standard_normal(k_shape)
    ref = n(tf.conv2d(t(a[None, None]), t(k[None, None])))[0, 0]
    parity("y", correlate2d(a, k), ref)
    parity("y", conv2d(a[None, None], k[None, None])[0, 0], ref)


@eq("IC-2")
def test_convolve2d_valid_swaps_when_kernel_is_larger_like_scipy(parity):
    rng = np.random.default_rng(3)
    a, k = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    parity("y", convolve2d(a, k), ss.convolve2d(a, k, "valid"), witness="scipy.signal")
    parity("y", correlate2d(a, k), ss.correlate2d(a, k, "valid"), witness="scipy.signal")
