"""Max and average pooling against torch, the loops and finite differences.

[MB-8, IC-8, IC-9, IC-10]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import literal
from ref_cnn.conformance import AVG_POOL_CASES, MAX_POOL_CASES
from ref_cnn.functional import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_backward_readable,
    avg_pool2d_readable,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_backward_readable,
    max_pool2d_readable,
)

tf = optional("torch.nn.functional")

eq = pytest.mark.equation


def _strided(kw: dict) -> bool:
    """Whether a case moves its window more than one pixel at a time (IC-10)."""
    stride = kw.get("stride") or kw["kernel_size"]  # None → the kernel size, as torch
    return max((stride, stride) if isinstance(stride, int) else stride) > 1


def _params(cases, *fields):
    return [
        pytest.param(
            *(c[f] for f in fields), id=c["id"], marks=eq("IC-10") if _strided(c["kw"]) else ()
        )
        for c in cases
    ]


MAX_CASES = _params([c for c in MAX_POOL_CASES if not c.get("ties")], "x", "kw")
AVG_CASES = _params(AVG_POOL_CASES, "x", "kw")


def _torch_pool(fn, x, dy, kw):
    xt = t(x, True)
    y = fn(xt, **kw)
    y.backward(t(dy))
    return n(y), n(xt.grad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("shape", "kw"), MAX_CASES)
@eq("MB-8", "IC-8")
@pytest.mark.torch
def test_max_pool_matches_torch(shape, kw, dtype, parity):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    y = max_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    y_ref, dx_ref = _torch_pool(tf.max_pool2d, x, dy, kw)
    parity("y", y, y_ref)
    parity("dx", max_pool2d_backward(dy, x, **kw), dx_ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("shape", "kw"), AVG_CASES)
@eq("MB-8", "IC-9")
@pytest.mark.torch
def test_avg_pool_matches_torch(shape, kw, dtype, parity):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    y = avg_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    y_ref, dx_ref = _torch_pool(tf.avg_pool2d, x, dy, kw)
    parity("y", y, y_ref)
    parity("dx", avg_pool2d_backward(dy, x, **kw), dx_ref)


@pytest.mark.parametrize(("shape", "kw"), MAX_CASES)
@eq("IC-8")
def test_max_pool_matches_literal_loops(shape, kw, parity):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    y = max_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape)
    parity("y", y, literal.max_pool2d(x, **kw), witness="literal loops")
    parity(
        "dx",
        max_pool2d_backward(dy, x, **kw),
        literal.max_pool2d_backward(dy, x, **kw),
        witness="literal loops",
    )


@pytest.mark.parametrize(("shape", "kw"), AVG_CASES)
@eq("IC-9")
def test_avg_pool_matches_literal_loops(shape, kw, parity):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    y = avg_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape)
    parity("y", y, literal.avg_pool2d(x, **kw), witness="literal loops")
    parity(
        "dx",
        avg_pool2d_backward(dy, x, **kw),
        literal.avg_pool2d_backward(dy, x, **kw),
        witness="literal loops",
    )


READABLE = {
    "max": (
        max_pool2d_readable,
        max_pool2d_backward_readable,
        tf.max_pool2d,
        literal.max_pool2d,
        literal.max_pool2d_backward,
        max_pool2d,
        max_pool2d_backward,
    ),
    "avg": (
        avg_pool2d_readable,
        avg_pool2d_backward_readable,
        tf.avg_pool2d,
        literal.avg_pool2d,
        literal.avg_pool2d_backward,
        avg_pool2d,
        avg_pool2d_backward,
    ),
}
ALL_CASES = [
    pytest.param(
        op,
        c["x"],
        c["kw"],
        c.get("ties", False),
        id=f"{op}-{c['id']}",
        marks=eq("MB-8", eid, *(["IC-10"] if _strided(c["kw"]) else [])),
    )
    for op, eid, cases in (("max", "IC-8", MAX_POOL_CASES), ("avg", "IC-9", AVG_POOL_CASES))
    for c in cases
]

PLAIN_CASES = [pytest.param(*p.values, id=p.id) for p in ALL_CASES]  # no equation markers


def _pool_data(shape, ties, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return rng, (rng.integers(0, 3, size=shape).astype(np.float64) if ties else x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("op", "shape", "kw", "ties"), ALL_CASES)
@pytest.mark.torch
def test_readable_pool_matches_torch(op, shape, kw, ties, dtype, parity):
    """The readable version (a window view, then max / argmax / mean) is a witness of its
    own: equal to torch, forward and gradient."""
    fwd, bwd, torch_fn, _, _, _, _ = READABLE[op]
    rng, x = _pool_data(shape, ties, seed=7)
    x = x.astype(dtype)
    y = fwd(x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    y_ref, dx_ref = _torch_pool(torch_fn, x, dy, kw)
    parity("y", y, y_ref)
    parity("dx", bwd(dy, x, **kw), dx_ref)


@pytest.mark.parametrize(("op", "shape", "kw", "ties"), ALL_CASES)
def test_readable_pool_matches_literal_loops(op, shape, kw, ties, parity):
    """The readable version equals the loop transcription, ties included."""
    fwd, bwd, _, slow_fwd, slow_bwd, _, _ = READABLE[op]
    rng, x = _pool_data(shape, ties, seed=9)
    y = fwd(x, **kw)
    dy = rng.standard_normal(y.shape)
    parity("y", y, slow_fwd(x, **kw), witness="literal loops")
    parity("dx", bwd(dy, x, **kw), slow_bwd(dy, x, **kw), witness="literal loops")


@pytest.mark.engineering
@pytest.mark.parametrize(("op", "shape", "kw", "ties"), PLAIN_CASES)
def test_pool_kernels_match_the_readable_version(op, shape, kw, ties, parity):
    """The tuned kernels (stride-phase planes) give the readable version's results."""
    fwd, bwd, _, _, _, fast_fwd, fast_bwd = READABLE[op]
    rng, x = _pool_data(shape, ties, seed=8)
    y = fast_fwd(x, **kw)
    dy = rng.standard_normal(y.shape)
    parity("y", y, fwd(x, **kw), witness="readable version")
    parity("dx", fast_bwd(dy, x, **kw), bwd(dy, x, **kw), witness="readable version")


@pytest.mark.parametrize(("shape", "kw"), MAX_CASES[:4])
@eq("IC-8")
def test_max_pool_gradient_matches_finite_differences(shape, kw, fd_check):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)  # distinct values: max is differentiable almost surely
    dy = rng.standard_normal(max_pool2d(x, **kw).shape)
    fd_check("dx", lambda v: max_pool2d(v, **kw), x, dy, max_pool2d_backward(dy, x, **kw))


@pytest.mark.parametrize(("shape", "kw"), AVG_CASES[:4])
@eq("IC-9")
def test_avg_pool_gradient_matches_finite_differences(shape, kw, fd_check):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    dy = rng.standard_normal(avg_pool2d(x, **kw).shape)
    fd_check("dx", lambda v: avg_pool2d(v, **kw), x, dy, avg_pool2d_backward(dy, x, **kw))


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param(dict(kernel_size=2), id="ties-k2"),
        pytest.param(dict(kernel_size=3, stride=1, padding=1), id="plateau-overlapping-p1"),
        pytest.param(dict(kernel_size=2, stride=1, dilation=2), id="ties-dilated"),
    ],
)
@eq("IC-8")
@pytest.mark.torch
def test_max_pool_ties_follow_torch_first_maximum(kw, parity):
    """Ties and plateaus: torch gives the whole gradient to the first maximum (row-major)."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 3, size=(2, 2, 6, 6)).astype(np.float64)  # many ties
    x[0, 0] = 1.0  # a flat plateau
    y = max_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape)
    y_ref, dx_ref = _torch_pool(tf.max_pool2d, x, dy, kw)
    parity("y", y, y_ref)
    parity("dx", max_pool2d_backward(dy, x, **kw), dx_ref)
    parity(
        "dx",
        max_pool2d_backward(dy, x, **kw),
        literal.max_pool2d_backward(dy, x, **kw),
        witness="literal loops",
    )


@eq("IC-8")
@pytest.mark.torch
def test_max_pool_padding_is_minus_infinity_not_zero():
    """All-negative input with padding: a zero pad would win every border window."""
    x = -1.0 - np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    y = max_pool2d(x, 2, stride=2, padding=1)
    assert np.all(y < 0)
    np.testing.assert_array_equal(y, n(tf.max_pool2d(t(x), 2, stride=2, padding=1)))


@eq("IC-8")
@pytest.mark.torch
@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 2, "dilation": 2, "padding": 1},
    ],
    ids=["k3-s2-p1", "k2-d2-p1"],
)
def test_max_pool_windows_of_minus_infinity_as_torch(kw, parity):
    """A window whose real values are all −∞ ties with its −∞ padding: torch's maximum is its
    first real position, so dy goes there and the index points there (not into padding)."""
    x = np.full((1, 2, 5, 5), -np.inf)
    x[0, 0, 3:, 3:] = 1.0
    x[0, 1, 2, 2] = np.nan
    xt = t(x, True)
    yt, it = tf.max_pool2d(xt, **kw, return_indices=True)
    dy = np.random.default_rng(6).standard_normal(yt.shape)
    yt.backward(t(dy))
    y, idx = max_pool2d(x, **kw, return_indices=True)
    np.testing.assert_array_equal(y, n(yt))
    np.testing.assert_array_equal(idx, n(it))
    parity("dx", max_pool2d_backward(dy, x, **kw), n(xt.grad))  # (overlaps add in any order)


@eq("IC-8")
@pytest.mark.torch
def test_max_pool_nan_propagates_like_torch():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 1, 2] = np.nan
    y = max_pool2d(x, 2)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(n(tf.max_pool2d(t(x), 2))))
