"""ref_cnn._fast.products: the GIL-aware product equals a @ b, and its cut is the documented one."""

from __future__ import annotations

import numpy as np
import pytest

from ref_cnn._fast import products

SHAPES = {
    # name: (a shape, b shape)
    "small-result-long-K": ((3, 28800), (28800, 25)),  # AV's weight gradient: split
    "small-result-K-remainder": ((2, 10007), (10007, 7)),  # K not a multiple of the blocks
    "stacked-small-result": ((2, 3, 6000), (2, 6000, 5)),  # groups: (G, M, K) · (G, K, N)
    "outer-product-K-1": ((200, 1), (1, 1728)),  # the dense layer's dx with one output
    "large-result": ((64, 300), (300, 40)),  # > 500 elements: plain matmul
    "small-result-short-K": ((3, 100), (100, 5)),  # too short to cut
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_product_is_a_matmul(case, dtype):
    rng = np.random.default_rng(0)
    sa, sb = SHAPES[case]
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    got = products.product(a, b)
    assert got.dtype == dtype and got.shape == ref.shape
    k = sa[-1]
    tol = 1e-13 if dtype == np.float64 else 1e-5  # rounding of a K-term sum, relative
    assert np.max(np.abs(got - ref)) <= tol * np.sqrt(k) * np.max(np.abs(a)) * np.max(np.abs(b))
    out = np.full(ref.shape, np.nan, dtype=dtype)
    assert products.product(a, b, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_a_small_result_is_summed_block_by_block():
    """The split is the documented one: B = ⌊500 / result size⌋ + 1 blocks of ⌊K/B⌋ terms,
    summed in order, then the rest of K; bit for bit."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 7003)), rng.standard_normal((7003, 7))
    blocks = products.GIL_RELEASE_ELEMENTS // 21 + 1
    step = 7003 // blocks
    assert step >= products.MIN_INNER_BLOCK and blocks * step < 7003  # cut, with a rest
    want = a[:, :step] @ b[:step]
    for i in range(1, blocks):
        want += a[:, i * step : (i + 1) * step] @ b[i * step : (i + 1) * step]
    want += a[:, blocks * step :] @ b[blocks * step :]
    np.testing.assert_array_equal(products.product(a, b), want)


def test_an_outer_product_is_exact():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((50, 1)), rng.standard_normal((1, 30))
    np.testing.assert_array_equal(products.product(a, b), a * b)
    np.testing.assert_array_equal(products.product(a, b), a @ b)
