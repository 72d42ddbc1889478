"""The compiled batch norm (training), ReLU and max-pooling (`ref_cnn._fast.backend`, numba) against
torch and the NumPy versions; NaN and ±∞ as torch; thread-count independence.

[MB-9, IC-8, IC-10]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn
from ref_cnn._fast import backend
from ref_cnn._fast.tuning import tuned
from ref_cnn.conformance.cases import BATCH_NORM_CASES, MAX_POOL_CASES
from ref_cnn.functional import activations, batchnorm, pool

torch = optional("torch")
tf = optional("torch.nn.functional")

pytestmark = pytest.mark.numba

BN_CASES = [pytest.param(c["x"], c["kw"], id=c["id"]) for c in BATCH_NORM_CASES] + [
    pytest.param((8, 16, 14, 14), {}, id="resnet-like"),
]


@pytest.fixture
def compiled(monkeypatch):
    """The compiled kernels chosen, and a count of the calls that reached them."""
    from ref_cnn._fast import passes_numba

    monkeypatch.setattr(backend, "_choice", "numba")
    names = ("batch_norm_train", "batch_norm_train_backward", "relu", "relu_backward")
    calls = dict.fromkeys((*names, "max_pool", "max_pool_backward"), 0)
    for name in calls:
        original = getattr(passes_numba, name)

        def spy(*args, _name=name, _original=original):
            calls[_name] += 1
            return _original(*args)

        monkeypatch.setattr(passes_numba, name, spy)
    return calls


@pytest.mark.torch
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("shape", "kw"), BN_CASES)
def test_compiled_batch_norm_matches_torch(shape, kw, dtype, affine, compiled, parity):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    w, b = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
    w, b = (w, b) if affine else (None, None)
    eps = kw.get("eps", 1e-5)
    y, mean, var = batchnorm.batch_norm_train(x, w, b, eps)
    dx, dw, db = batchnorm.batch_norm_train_backward(dy, x, w, eps)
    xt = t(x, True)
    wt, bt = (t(w, True), t(b, True)) if affine else (None, None)
    yt = tf.batch_norm(xt, None, None, wt, bt, training=True, eps=eps)
    yt.backward(t(dy))
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))
    parity("mean", mean, x.mean(axis=(0, 2, 3)), witness="numpy")
    parity("var", var, x.var(axis=(0, 2, 3)), witness="numpy")
    if affine:
        parity("dw", dw, n(wt.grad))
        parity("db", db, n(bt.grad))
    else:
        assert dw is None and db is None
    assert compiled["batch_norm_train"] == compiled["batch_norm_train_backward"] == 1


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_compiled_relu_matches_torch_with_nan_and_inf(dtype, compiled):
    """NaN stays NaN forward; where x ≤ 0 (or NaN) the gradient is 0 whatever dy holds."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 7, 9)).astype(dtype)
    x.flat[:6] = [np.nan, -np.inf, np.inf, 0.0, -0.0, 2.0]
    dy = rng.standard_normal(x.shape).astype(dtype)
    dy.flat[6:12] = [np.nan, np.inf, -np.inf, np.nan, 1.0, np.inf]
    x.flat[6:12] = [-1.0, 0.0, -2.0, 3.0, np.nan, 4.0]
    xt = t(x, True)
    yt = torch.relu(xt)
    yt.backward(t(dy))
    np.testing.assert_array_equal(activations.relu(x), n(yt))
    np.testing.assert_array_equal(activations.relu_backward(dy, x), n(xt.grad))
    assert compiled["relu"] == compiled["relu_backward"] == 1


@pytest.mark.engineering
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_compiled_passes_do_not_depend_on_the_thread_count(dtype, compiled):
    with tuned(numba_relu_block=100):  # many ReLU tasks
        rng = np.random.default_rng(2)
        x, dy = (rng.standard_normal((4, 6, 9, 8)).astype(dtype) for _ in range(2))
        w, b = (rng.standard_normal(6).astype(dtype) for _ in range(2))
        results = []
        for count in (1, 4):
            ref_cnn.set_num_threads(count)
            results.append(
                (
                    *batchnorm.batch_norm_train(x, w, b),
                    *batchnorm.batch_norm_train_backward(dy, x, w),
                    activations.relu(x),
                    activations.relu_backward(dy, x),
                    pool.max_pool2d(x, 3, stride=2, padding=1),
                    pool.max_pool2d_backward(dy[:, :, ::2, ::2], x, 3, stride=2, padding=1),
                )
            )
        ref_cnn.set_num_threads(3)  # the suite's count (conftest._parallel_path)
        for one, four in zip(*results, strict=True):
            np.testing.assert_array_equal(one, four)


@pytest.mark.engineering
def test_compiled_and_numpy_passes_agree_to_rounding(monkeypatch):
    rng = np.random.default_rng(3)
    x, dy = (rng.standard_normal((4, 5, 6, 7)) for _ in range(2))
    w, b = (rng.standard_normal(5) for _ in range(2))
    out = {}
    for name in backend.CHOICES:
        monkeypatch.setattr(backend, "_choice", name)
        out[name] = (
            *batchnorm.batch_norm_train(x, w, b),
            *batchnorm.batch_norm_train_backward(dy, x, w),
            activations.relu(x),
            activations.relu_backward(dy, x),
            pool.max_pool2d(x, 3, stride=2, padding=1),
            pool.max_pool2d_backward(dy[:, :, ::2, ::2], x, 3, stride=2, padding=1),
        )
    for ours, theirs in zip(out["numba"], out["numpy"], strict=True):
        assert np.abs(ours - theirs).max() <= 1e-13 * np.abs(theirs).max()


POOL_CASES = [
    pytest.param(c["x"], c["kw"], c.get("negative", False), id=c["id"]) for c in MAX_POOL_CASES
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("shape", "kw", "negative"), POOL_CASES)
@pytest.mark.equation("IC-8", "IC-10")
def test_compiled_max_pool_matches_torch(shape, kw, negative, dtype, compiled, parity):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(dtype)
    x = -np.abs(x) - 1 if negative else x
    y = pool.max_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    xt = t(x, True)
    yt = tf.max_pool2d(xt, **kw)
    yt.backward(t(dy))
    parity("y", y, n(yt))
    parity("dx", pool.max_pool2d_backward(dy, x, **kw), n(xt.grad))
    assert compiled["max_pool"] == compiled["max_pool_backward"] == 1


@pytest.mark.torch
@pytest.mark.equation("IC-8")
def test_compiled_max_pool_ties_nan_and_minus_inf_as_torch(compiled):
    """Ties: the first maximum; NaN: propagates, the last NaN of a window takes dy; a window
    whose values are all −∞ sends dy to its first position in the input, never to padding."""
    x = np.zeros((1, 2, 5, 5))
    x[0, 0, 1, 1] = x[0, 0, 1, 3] = np.nan
    x[0, 1] = -np.inf
    x[0, 1, 3:, 3:] = 1.0
    dy = np.random.default_rng(5).standard_normal((1, 2, 3, 3))
    xt = t(x, True)
    yt = tf.max_pool2d(xt, 3, stride=2, padding=1)
    yt.backward(t(dy))
    np.testing.assert_array_equal(pool.max_pool2d(x, 3, stride=2, padding=1), n(yt))
    np.testing.assert_array_equal(
        pool.max_pool2d_backward(dy, x, 3, stride=2, padding=1), n(xt.grad)
    )
