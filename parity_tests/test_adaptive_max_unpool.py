"""adaptive_max_pool2d and max_unpool2d against second witnesses (torch's OpInfo samples
are in test_opinfo.py): a loop over torch's windows, finite differences, the adjoint
identity, and max_pool2d's own indices. [MB-8, IC-8]
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ref_cnn.functional import (
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    max_pool2d,
    max_unpool2d,
    max_unpool2d_backward,
)

eq = pytest.mark.equation

SIZES = [
    pytest.param((2, 3), id="2x3"),
    pytest.param((4, 5), id="4x5-overlapping"),
    pytest.param((1, 1), id="global"),
    pytest.param((7, None), id="7xNone-keep-width"),
]


def _loop_adaptive_max(x, out):
    """The window rule read literally: cell (i, j) is the max over rows ⌊i·H/o⌋ … ⌈(i+1)·H/o⌉."""
    n, c, h, w = x.shape
    oh, ow = (h if out[0] is None else out[0]), (w if out[1] is None else out[1])
    y = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, math.ceil((i + 1) * h / oh)
            c0, c1 = (j * w) // ow, math.ceil((j + 1) * w / ow)
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].max(axis=(2, 3))
    return y


@pytest.mark.parametrize("size", SIZES)
@eq("MB-8", "IC-8")
def test_adaptive_max_pool2d_matches_the_window_loop(size, parity):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 9))
    y, idx = adaptive_max_pool2d(x, size, return_indices=True)
    parity("y", y, _loop_adaptive_max(x, size), witness="literal loops")
    flat = x.reshape(2, 3, -1)
    picked = np.take_along_axis(flat, idx.reshape(2, 3, -1), axis=2).reshape(y.shape)
    parity("x[indices]", picked, y, witness="the indices")


@pytest.mark.parametrize("size", SIZES)
@eq("IC-8")
def test_adaptive_max_pool2d_backward_matches_finite_differences(size, fd_check):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 7, 9))  # distinct values: no ties, the max is smooth
    dy = rng.standard_normal(adaptive_max_pool2d(x, size).shape)
    grad = adaptive_max_pool2d_backward(dy, x, size)
    fd_check("dx", lambda v: adaptive_max_pool2d(v, size), x, dy, grad)


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"kernel_size": 2}, id="k2"),
        pytest.param({"kernel_size": 3, "stride": 2, "padding": 1}, id="k3-s2-p1-overlap"),
        pytest.param({"kernel_size": (3, 2), "stride": (2, 1)}, id="k3x2-s2x1"),
    ],
)
@eq("IC-8")
def test_max_unpool2d_inverts_max_pool2d_and_is_its_adjoint(kw, parity):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 7))
    pooled, idx = max_pool2d(x, **kw, return_indices=True)
    y = max_unpool2d(pooled, idx, **kw, output_size=x.shape)
    kept = np.zeros(x.shape, dtype=bool).reshape(6, -1)
    np.put_along_axis(kept, idx.reshape(6, -1), True, axis=1)
    kept = kept.reshape(x.shape)
    parity("y at the maxima", y[kept], x[kept], witness="max_pool2d's input")
    assert not y[~kept].any()  # 0 everywhere else
    # the backward reads dy at each index (torch's rule: a gather); where no two windows
    # share a maximum that is the adjoint of the forward, <unpool(u), v> = <u, backward(v)>
    v = rng.standard_normal(x.shape)
    dx = max_unpool2d_backward(v, pooled, idx, **kw, output_size=x.shape)
    gathered = np.take_along_axis(v.reshape(6, -1), idx.reshape(6, -1), axis=1)
    parity("dx = dy[indices]", dx, gathered.reshape(pooled.shape), witness="a gather")
    if all(len(set(row)) == row.size for row in idx.reshape(6, -1)):
        u = rng.standard_normal(pooled.shape)
        lhs = np.sum(max_unpool2d(u, idx, **kw, output_size=x.shape) * v)
        rhs = np.sum(u * max_unpool2d_backward(v, u, idx, **kw, output_size=x.shape))
        parity("adjoint", np.array(lhs), np.array(rhs), witness="inner products")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(
            lambda: max_unpool2d(
                np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), int), 2, 2, 0, (9, 9)
            ),
            ValueError,
            "strictly between",
            id="output-size-out-of-range",
        ),
        pytest.param(
            lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2),
            ValueError,
            r"indices must lie in \[0, 16\)",
            id="index-out-of-range",
        ),
        pytest.param(
            lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), 2),
            TypeError,
            "int64",
            id="float-indices",
        ),
        pytest.param(
            lambda: adaptive_max_pool2d(np.zeros((4, 4)), 2),
            ValueError,
            "unbatched",
            id="adaptive-2-D-input",
        ),
        pytest.param(
            lambda: adaptive_max_pool2d(np.zeros((1, 4, 4)), (-1, 2)),
            ValueError,
            "output_size must be non-negative",
            id="adaptive-negative-size",
        ),
    ],
)
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()
