"""The compiled conv2d kernels (`ref_cnn._fast.backend`, numba) against torch, the literal loops and
the NumPy kernels; the kernel choice (knob, environment variable, errors).

CI also runs the whole parity suite with REF_CNN_KERNELS=numba (.ci/run).

[IC-4, IC-5, IC-6, IC-7, IC-10, IC-11, AV-14]
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from helpers import n, optional, t
from test_conv import _data

import ref_cnn
from ref_cnn import functional as F
from ref_cnn import literal
from ref_cnn._fast import backend, conv_numpy
from ref_cnn.conformance import CONV_CASES
from ref_cnn.functional import conv2d, conv2d_backward

torch = optional("torch")
tf = optional("torch.nn.functional")

CASES = [pytest.param(c["x"], c["w"], c["bias"], c["kw"], id=c["id"]) for c in CONV_CASES]
# ResNet-like layers of the benchmark's shapes, small: stride 1 and 2, 1×1, 7×7 s2 p3
LAYERS = {
    "3x3-p1-c": ((4, 8, 14, 14), (16, 8, 3, 3), {"padding": 1}),
    "3x3-s2-p1": ((2, 8, 15, 15), (16, 8, 3, 3), {"stride": 2, "padding": 1}),
    "1x1-s2": ((2, 8, 14, 14), (16, 8, 1, 1), {"stride": 2}),
    "7x7-s2-p3": ((2, 3, 32, 32), (8, 3, 7, 7), {"stride": 2, "padding": 3}),
    "3x3-d2-same": ((2, 4, 12, 11), (6, 4, 3, 3), {"padding": "same", "dilation": 2}),
    "4x4-same-even": ((2, 3, 9, 10), (5, 3, 4, 4), {"padding": "same"}),
    # kernel-heavy (ResNet-18's late layers): blocks of channels over the batch's columns
    "heavy-3x3-p1": ((2, 40, 3, 3), (48, 40, 3, 3), {"padding": 1}),
    "heavy-3x3-s2-p1": ((2, 24, 5, 5), (40, 24, 3, 3), {"stride": 2, "padding": 1}),
}


@pytest.fixture
def compiled(monkeypatch):
    """The compiled kernels chosen, and a count of the calls that reached them."""
    from ref_cnn._fast import conv_numba

    monkeypatch.setattr(backend, "_choice", "numba")
    calls = {"correlate": 0, "gradients": 0}
    for name in calls:
        original = getattr(conv_numba, name)

        def spy(*args, _name=name, _original=original, **kw):
            calls[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(conv_numba, name, spy)
    return calls


def _covered(x, w, kw) -> bool:
    """Whether the compiled kernels take this layer (groups = 1)."""
    from ref_cnn.functional.conv import conv_geometry

    return conv_geometry(x, w, **kw).groups == 1


@pytest.mark.engineering
def test_layers_cover_each_path():
    """LAYERS reach every compiled path: bands and channel blocks, forward and dx."""
    from ref_cnn.functional.conv import conv_geometry

    paths = set()
    for x_shape, w_shape, kw in LAYERS.values():
        x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
        g = conv_geometry(x, w, **kw)
        gt = conv_numpy._transposed(g)
        paths.add(("heavy" if conv_numpy._weight_heavy(g, 4) else "bands", gt is None))
        if gt is not None and conv_numpy._weight_heavy(gt, 4):
            paths.add("heavy dx")
    assert paths >= {("bands", False), ("bands", True), ("heavy", False), ("heavy", True)}
    assert "heavy dx" in paths


@pytest.mark.numba
@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    ("x_shape", "w_shape", "bias", "kw"),
    CASES + [pytest.param(*v, True, kw, id=k) for k, (*v, kw) in LAYERS.items()],
)
@pytest.mark.equation("IC-4", "IC-5", "IC-6", "IC-7")
def test_compiled_conv2d_matches_torch(x_shape, w_shape, bias, kw, dtype, compiled, parity):
    rng, x, w, b = _data(x_shape, w_shape, bias, dtype)
    y = conv2d(x, w, b, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)  # random upstream gradient, never ones
    xt, wt = t(x, True), t(w, True)
    bt = t(b, True) if b is not None else None
    yt = tf.conv2d(xt, wt, bt, **kw)
    yt.backward(t(dy))
    parity("y", y, n(yt))
    dx, dw, db = conv2d_backward(dy, x, w, **kw)
    parity("dx", dx, n(xt.grad))
    parity("dw", dw, n(wt.grad))
    parity("db", db, n(bt.grad) if bt is not None else dy.sum(axis=(0, 2, 3)))
    covered = int(_covered(x, w, kw))
    assert compiled == {"correlate": covered, "gradients": covered}


@pytest.mark.numba
@pytest.mark.parametrize(("name", "need_dx"), [(k, d) for k in LAYERS for d in (True, False)])
@pytest.mark.equation("IC-4", "IC-5", "IC-6", "IC-7")
def test_compiled_conv2d_matches_literal_loops(name, need_dx, compiled, parity):
    """Second witness, without torch, with and without the input gradient."""
    x_shape, w_shape, kw = LAYERS[name]
    rng, x, w, b = _data(x_shape, w_shape, True, seed=3)
    y = conv2d(x, w, b, **kw)
    parity("y", y, literal.conv2d(x, w, b, **kw), witness="literal loops")
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv2d_backward(dy, x, w, need_dx=need_dx, **kw)
    ref_dx, ref_dw, ref_db = literal.conv2d_backward(dy, x, w, **kw)
    assert (dx is None) == (not need_dx)
    if need_dx:
        parity("dx", dx, ref_dx, witness="literal loops")
    parity("dw", dw, ref_dw, witness="literal loops")
    parity("db", db, ref_db, witness="literal loops")
    assert compiled == {"correlate": 1, "gradients": 1}


@pytest.mark.numba
@pytest.mark.engineering
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_compiled_results_do_not_depend_on_the_thread_count(dtype, compiled):
    """Bands of rows and runs of tasks are cut by shape: 1 and 4 threads, the same bits."""
    rng, x, w, b = _data((5, 6, 13, 12), (7, 6, 3, 3), True, dtype)
    dy = rng.standard_normal((5, 7, 13, 12)).astype(dtype)
    results = []
    for count in (1, 4):
        ref_cnn.set_num_threads(count)
        results.append((conv2d(x, w, b, padding=1), *conv2d_backward(dy, x, w, padding=1)))
    ref_cnn.set_num_threads(3)  # the suite's count (conftest._parallel_path)
    for one, four in zip(*results, strict=True):
        np.testing.assert_array_equal(one, four)
    assert compiled == {"correlate": 2, "gradients": 2}


@pytest.mark.numba
@pytest.mark.engineering
def test_compiled_and_numpy_kernels_agree_to_rounding(monkeypatch):
    rng, x, w, b = _data((3, 5, 11, 10), (6, 5, 3, 3), True)
    dy = rng.standard_normal((3, 6, 11, 10))
    out = {}
    for name in backend.CHOICES:
        monkeypatch.setattr(backend, "_choice", name)
        out[name] = (conv2d(x, w, b, padding=1), *conv2d_backward(dy, x, w, padding=1))
    for ours, theirs in zip(out["numba"], out["numpy"], strict=True):
        assert np.abs(ours - theirs).max() <= 1e-13 * np.abs(theirs).max()


@pytest.fixture
def automatic(monkeypatch):
    """No explicit choice (no set_kernels, no REF_CNN_KERNELS): the automatic rule decides."""
    from ref_cnn._fast import threads

    monkeypatch.setattr(backend, "_choice", None)
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    monkeypatch.setattr(threads, "_num_threads", None)
    return monkeypatch


@pytest.mark.engineering
@pytest.mark.parametrize(
    ("count", "installed", "chosen"),
    [(1, True, "numpy"), (4, True, "numpy"), (5, True, "numba"), (16, True, "numba")]
    + [(16, False, "numpy"), (1, False, "numpy")],
    ids=["1-thread", "4-threads", "5-threads", "16-threads", "16-numpy-only", "1-numpy-only"],
)
def test_the_automatic_choice_is_numba_above_4_threads_where_installed(
    count, installed, chosen, automatic
):
    """The rule of `backend`: "numba" where numba imports and more than AUTO_NUMBA_ABOVE = 4
    threads run, else "numpy" (a numpy-only install always falls back to "numpy")."""
    assert backend.AUTO_NUMBA_ABOVE == 4
    automatic.setattr(backend, "numba_available", lambda: installed)
    ref_cnn.set_num_threads(count)
    try:
        assert ref_cnn.get_kernels() == chosen
        assert backend.compiled() == (chosen == "numba")
    finally:
        ref_cnn.set_num_threads(3)  # the suite's count (conftest._parallel_path)


@pytest.mark.engineering
def test_an_explicit_choice_wins_over_the_automatic_one(automatic):
    automatic.setattr(backend, "numba_available", lambda: True)
    ref_cnn.set_num_threads(16)  # automatic: "numba"
    try:
        automatic.setenv(backend.ENV_VAR, "numpy")
        assert ref_cnn.get_kernels() == "numpy"
        ref_cnn.set_kernels("readable")  # set_kernels wins over the environment variable
        assert ref_cnn.get_kernels() == "readable"
        with backend.using("numpy"):  # a block wins over set_kernels
            assert ref_cnn.get_kernels() == "numpy"
        assert ref_cnn.get_kernels() == "readable"
        ref_cnn.set_kernels(None)  # back to the environment variable
        assert ref_cnn.get_kernels() == "numpy"
        automatic.delenv(backend.ENV_VAR)
        assert ref_cnn.get_kernels() == "numba"
    finally:
        ref_cnn.set_num_threads(3)


@pytest.mark.engineering
def test_the_environment_variable_is_checked(automatic):
    automatic.setenv(backend.ENV_VAR, "numpy")
    assert ref_cnn.get_kernels() == "numpy"
    automatic.setenv(backend.ENV_VAR, "fast")
    with pytest.raises(ValueError, match="REF_CNN_KERNELS must be one of"):
        ref_cnn.get_kernels()


@pytest.mark.engineering
def test_using_is_per_thread(automatic):
    """A `using` block in one thread leaves another thread's choice alone."""
    import threading

    automatic.setenv(backend.ENV_VAR, "numpy")
    seen = []
    with backend.using("readable"):
        other = threading.Thread(target=lambda: seen.append(ref_cnn.get_kernels()))
        other.start()
        other.join()
        assert ref_cnn.get_kernels() == "readable"
    assert seen == ["numpy"] and ref_cnn.get_kernels() == "numpy"


@pytest.mark.engineering
@pytest.mark.parametrize(
    ("bad", "error"), [("cuda", ValueError), (1, TypeError), (b"numpy", TypeError)]
)
def test_set_kernels_rejects_bad_names(bad, error):
    with pytest.raises(error, match="the kernels must be"):
        ref_cnn.set_kernels(bad)


@pytest.mark.engineering
def test_numba_kernels_without_numba_say_how_to_install(monkeypatch):
    monkeypatch.setattr(backend, "numba_available", lambda: False)
    monkeypatch.setattr(backend, "_choice", None)
    with pytest.raises(ImportError, match=r'pip install "ref_cnn\[fast\]"'):
        ref_cnn.set_kernels("numba")
    monkeypatch.setenv(backend.ENV_VAR, "numba")
    with pytest.raises(ImportError, match=r"REF_CNN_KERNELS=numba, but .*ref_cnn\[fast\]"):
        conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)))


# (op, call): each op of the table with a small case; pooling 3×3 s2 p1, conv 3×3 p1
_POOL = {"kernel_size": 3, "stride": 2, "padding": 1}
_DISPATCHED = {
    "conv2d": lambda x, w, dy, dyp: conv2d(x, w, padding=1),
    "conv2d_backward": lambda x, w, dy, dyp: conv2d_backward(dy, x, w, padding=1),
    "max_pool2d": lambda x, w, dy, dyp: F.max_pool2d(x, **_POOL),
    "max_pool2d_backward": lambda x, w, dy, dyp: F.max_pool2d_backward(dyp, x, **_POOL),
    "avg_pool2d": lambda x, w, dy, dyp: F.avg_pool2d(x, **_POOL),
    "avg_pool2d_backward": lambda x, w, dy, dyp: F.avg_pool2d_backward(dyp, x, **_POOL),
}


@pytest.mark.engineering
@pytest.mark.parametrize("chosen", backend.CHOICES)
@pytest.mark.parametrize("op", list(_DISPATCHED))
def test_each_set_runs_its_own_implementation(op, chosen, monkeypatch):
    """Under "readable" no implementation of the table runs (the op's own equations do);
    under "numpy" the tuned NumPy one; under "numba" the compiled one where the table has
    one, else the tuned NumPy one."""
    if chosen == "numba" and not backend.numba_available():
        pytest.skip("numba is not installed")
    entries = backend.IMPLEMENTATIONS[op]
    calls = []
    for name, target in entries.items():
        module, _, attr = target.partition(":")
        if "numba" in module and not backend.numba_available():
            continue  # never chosen without numba, and importing it would fail
        mod = importlib.import_module(module)
        original = getattr(mod, attr)

        def spy(*args, _name=name, _original=original):
            calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(mod, attr, spy)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3))
    dy, dyp = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((2, 3, 4, 3))
    with backend.using(chosen):
        _DISPATCHED[op](x, w, dy, dyp)
    expected = {"readable": [], "numpy": ["numpy"]}.get(chosen)
    if chosen == "numba":
        expected = ["numba"] if "numba" in entries else ["numpy"]
    assert calls == expected


@pytest.mark.engineering
@pytest.mark.parametrize("chosen", ["numpy", "numba"])
def test_the_readable_names_run_the_equations_whatever_the_set(chosen, monkeypatch):
    """`*_readable` run the equations under every set: no implementation of the table runs."""
    if chosen == "numba" and not backend.numba_available():
        pytest.skip("numba is not installed")
    for entries in backend.IMPLEMENTATIONS.values():
        for target in entries.values():
            module, _, attr = target.partition(":")
            if "numba" not in module or backend.numba_available():
                monkeypatch.setattr(importlib.import_module(module), attr, _forbidden)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3))
    dy, dyp = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((2, 3, 4, 3))
    monkeypatch.setattr(backend, "_choice", chosen)
    F.conv2d_readable(x, w, padding=1)
    F.conv2d_backward_readable(dy, x, w, padding=1)
    F.max_pool2d_readable(x, **_POOL)
    F.max_pool2d_backward_readable(dyp, x, **_POOL)
    F.avg_pool2d_readable(x, **_POOL)
    F.avg_pool2d_backward_readable(dyp, x, **_POOL)
    assert ref_cnn.get_kernels() == chosen  # the choice is back after each call


def _forbidden(*args):
    raise AssertionError("a readable name ran a fast implementation")
