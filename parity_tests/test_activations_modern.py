"""The activations beyond the articles [ACT-1 … ACT-16] against torch autograd, central
finite differences, and torch at every kink, threshold, ±∞ and NaN.

The float32 rule: float32 in, float32 out for the forward and every gradient, within ten
times torch's own float32 error of torch's float64 result on the same values
(`_metric.float32_bound`), and within the suite's fixed float32 bound of torch's float32
(`conftest.RTOL`). The float32 and float64 runs
see the same float32 values, so every kink decision (which side of 0, 6, ±3, the
threshold) is the same on both sides: kinks.py's `follow_decisions` is needed only where an
upstream layer's rounding moves a value across a kink, which a single op does not have.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import functional as F

torch = optional("torch")
TF = torch.nn.functional
eq = pytest.mark.equation

TORCH_SIXTH = float(np.float32(1 / 6))  # torch's hardsigmoid gradient constant (1.0f/6.0f)
SHAPE = (2, 3, 4, 6)  # NCHW, C = 3 slopes for PReLU, an even last axis for GLU


class Case:
    """One op with its options: ours and torch's, the points where its derivative switches."""

    def __init__(self, ids, forward, backward, torch_fn, kinks=(), weight=False, **options):
        self.ids, self.forward, self.backward = ids, forward, backward
        self.torch_fn, self.kinks, self.weight, self.options = torch_fn, kinks, weight, options

    def slopes(self, x: np.ndarray) -> np.ndarray | None:
        """PReLU's weight: one per channel for x of ≥ 2 axes, else one."""
        if not self.weight:
            return None
        c = x.shape[1] if x.ndim > 1 else 1
        return np.linspace(-0.5, 1.5, c).astype(x.dtype)

    def ours(self, x, dy):
        """(y, {"input": dx, "weight": dw}) from ref_cnn."""
        w = self.slopes(x)
        if w is not None:
            dx, dw = self.backward(dy, x, w)
            return self.forward(x, w), {"input": dx, "weight": dw}
        return self.forward(x, **self.options), {"input": self.backward(dy, x, **self.options)}

    def theirs(self, x, dy):
        """The same from torch autograd, at x's dtype."""
        xt = t(x, True)
        w = self.slopes(x)
        wt = t(w, True) if w is not None else None
        yt = self.torch_fn(xt, wt) if wt is not None else self.torch_fn(xt, **self.options)
        yt.backward(t(dy))
        grads = {"input": n(xt.grad)} | ({"weight": n(wt.grad)} if wt is not None else {})
        return n(yt), grads


CASES = {
    "relu6": Case(("ACT-1",), F.relu6, F.relu6_backward, TF.relu6, kinks=(0.0, 6.0)),
    "hardtanh": Case(("ACT-2",), F.hardtanh, F.hardtanh_backward, TF.hardtanh, kinks=(-1.0, 1.0)),
    "hardtanh-m2-3": Case(
        ("ACT-2",),
        F.hardtanh,
        F.hardtanh_backward,
        TF.hardtanh,
        kinks=(-2.0, 3.0),
        min_val=-2.0,
        max_val=3.0,
    ),
    "hardsigmoid": Case(
        ("ACT-3",), F.hardsigmoid, F.hardsigmoid_backward, TF.hardsigmoid, kinks=(-3.0, 3.0)
    ),
    "hardswish": Case(
        ("ACT-4",), F.hardswish, F.hardswish_backward, TF.hardswish, kinks=(-3.0, 3.0)
    ),
    "silu": Case(("ACT-5",), F.silu, F.silu_backward, TF.silu),
    "gelu": Case(("ACT-6",), F.gelu, F.gelu_backward, TF.gelu),
    "gelu-tanh": Case(("ACT-7",), F.gelu, F.gelu_backward, TF.gelu, approximate="tanh"),
    "elu": Case(("ACT-8",), F.elu, F.elu_backward, TF.elu, kinks=(0.0,)),
    "elu-a0.5": Case(("ACT-8",), F.elu, F.elu_backward, TF.elu, kinks=(0.0,), alpha=0.5),
    "selu": Case(("ACT-9",), F.selu, F.selu_backward, TF.selu, kinks=(0.0,)),
    "celu": Case(("ACT-10",), F.celu, F.celu_backward, TF.celu, kinks=(0.0,)),
    # α = 2 (held exactly in float32: torch's backward rounds α to float32, see celu_backward)
    "celu-a2": Case(("ACT-10",), F.celu, F.celu_backward, TF.celu, kinks=(0.0,), alpha=2.0),
    "softplus": Case(("ACT-11",), F.softplus, F.softplus_backward, TF.softplus, kinks=(20.0,)),
    "softplus-b2-t10": Case(
        ("ACT-11",),
        F.softplus,
        F.softplus_backward,
        TF.softplus,
        kinks=(5.0,),  # βx = threshold: the smooth branch, as torch
        beta=2.0,
        threshold=10.0,
    ),
    "mish": Case(("ACT-12",), F.mish, F.mish_backward, TF.mish),
    "prelu": Case(("ACT-13",), F.prelu, F.prelu_backward, TF.prelu, kinks=(0.0,), weight=True),
    "logsigmoid": Case(("ACT-14",), F.logsigmoid, F.logsigmoid_backward, TF.logsigmoid),
    "softsign": Case(("ACT-15",), F.softsign, F.softsign_backward, TF.softsign, kinks=(0.0,)),
    "glu": Case(("ACT-16",), F.glu, F.glu_backward, TF.glu),
    "glu-dim1": Case(("ACT-16",), F.glu, F.glu_backward, TF.glu, dim=1),
}
GLU_DIM1_SHAPE = (2, 4, 3, 3)


def _params(names=CASES):
    return [pytest.param(k, id=k, marks=eq(*CASES[k].ids)) for k in names]


def _shape(name: str) -> tuple[int, ...]:
    return GLU_DIM1_SHAPE if name == "glu-dim1" else SHAPE


def _forward(case: Case, x):
    w = case.slopes(x)
    return case.forward(x, w) if w is not None else case.forward(x, **case.options)


def _data(name: str, dtype, scale: float, seed: int = 0) -> np.ndarray:
    """Random NCHW values with the op's kink points written into the first elements."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(_shape(name)) * scale
    kinks = list(CASES[name].kinks)
    x.flat[: len(kinks)] = kinks
    return x.astype(dtype)


@pytest.mark.parametrize("scale", [1.0, 4.0, 30.0], ids=["scale1", "scale4", "scale30"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", _params())
@pytest.mark.torch
def test_activation_matches_torch(name, dtype, scale, parity):
    """Forward and every gradient against torch autograd, random dy, kink points included;
    float32 in gives float32 out (the float32 rule), within the float32 bound."""
    case = CASES[name]
    x = _data(name, dtype, scale)
    dy = np.random.default_rng(1).standard_normal(np.shape(_forward(case, x))).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings at |x| = 30·4σ
        y, grads = case.ours(x, dy)
    y_ref, grads_ref = case.theirs(x, dy)
    assert y.dtype == dtype and all(g.dtype == dtype for g in grads.values())
    parity("y", y, y_ref)
    for key, g in grads.items():
        reference = grads_ref[key]
        if name == "hardsigmoid" and dtype == np.float64:
            reference = reference / TORCH_SIXTH / 6  # torch's constant 1.0f/6.0f made exact
        parity(f"d{key}", g, reference)


@pytest.mark.parametrize("name", _params())
@pytest.mark.torch
def test_f32_rule_against_torch_float64(name, f32_parity):
    """float32 against torch's float64 on the same values, within FLOAT32_FACTOR of torch's own
    float32 error there (and at least ten float32 ulps): `_metric.float32_bound`."""
    case = CASES[name]
    x32 = _data(name, np.float32, 4.0, seed=7)
    dy32 = np.random.default_rng(8).standard_normal(np.shape(_forward(case, x32)))
    dy32 = dy32.astype(np.float32)
    x64, dy64 = x32.astype(np.float64), dy32.astype(np.float64)
    y, grads = case.ours(x32, dy32)
    y64, grads64 = case.theirs(x64, dy64)
    y32, grads32 = case.theirs(x32, dy32)
    if name == "hardsigmoid":  # torch's float64 constant 1.0f/6.0f made exact
        grads64 = {"input": grads64["input"] / TORCH_SIXTH / 6}
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())
    pairs = [("y", y, y32, y64)] + [(f"d{k}", grads[k], grads32[k], grads64[k]) for k in grads]
    for q, ours, theirs, exact in pairs:
        f32_parity(q, ours, theirs, exact)


@pytest.mark.parametrize("name", _params())
def test_gradient_matches_finite_differences(name, fd_check):
    """Central differences of Σ dy·f(x), float64, away from every kink."""
    case = CASES[name]
    rng = np.random.default_rng(2)
    x = rng.uniform(-8, 8, _shape(name))
    for k in case.kinks:  # keep the differences' ±1e-6 on one side of each kink
        near = np.abs(x - k) < 0.01
        x[near] += 0.05
    dy = rng.standard_normal(np.shape(_forward(case, x)))
    _, grads = case.ours(x, dy)
    fd_check("dinput", lambda v: _forward(case, v), x, dy, grads["input"])
    w = case.slopes(x)
    if w is not None:
        fd_check("dweight", lambda a: case.forward(x, a), w, dy, grads["weight"])


KINK_NAMES = [k for k in CASES if CASES[k].kinks] + ["softsign", "logsigmoid", "mish", "gelu"]


@pytest.mark.parametrize("name", _params(dict.fromkeys(KINK_NAMES)))
@pytest.mark.torch
def test_kinks_infinities_and_nan_take_torchs_side(name):
    """At each kink point, ±∞ and NaN: ours equals torch element by element (NaN where
    torch gives NaN), for the output and every gradient, in float64. 144 elements: a whole
    number of torch's SIMD blocks (2 vectors of 4 or 8 doubles), so that every element takes
    torch's vectorised loop; its scalar loop (a tensor's remainder) treats a NaN x otherwise."""
    case = CASES[name]
    special = [*case.kinks, *(np.nextafter(k, np.inf) for k in case.kinks)]
    special += [*(np.nextafter(k, -np.inf) for k in case.kinks), np.inf, -np.inf, np.nan]
    x = np.resize(np.array(special + [0.5, -0.5]), _shape(name)).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ∞·0 → NaN is torch's value too
        dy = np.random.default_rng(3).standard_normal(np.shape(_forward(case, x)))
        y, grads = case.ours(x, dy)
    y_ref, grads_ref = case.theirs(x, dy)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=0, equal_nan=True)
    for key, g in grads.items():
        reference = grads_ref[key]
        if name == "hardsigmoid":
            reference = reference / TORCH_SIXTH / 6
        np.testing.assert_allclose(g, reference, rtol=1e-12, atol=0, equal_nan=True, err_msg=key)


@pytest.mark.parametrize("shape", [(), (7,)], ids=["0d", "1d"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", _params(k for k in CASES if not k.startswith("glu")))
@pytest.mark.torch
def test_0d_and_1d_inputs(name, dtype, shape, parity):
    """0-d and 1-d x give arrays of x's shape and dtype, equal to torch's."""
    case = CASES[name]
    x = np.asarray(np.random.default_rng(4).standard_normal(shape) * 3, dtype=dtype)
    dy = np.asarray(np.random.default_rng(5).standard_normal(shape), dtype=dtype)
    y, grads = case.ours(x, dy)
    assert isinstance(y, np.ndarray) and y.shape == shape and y.dtype == dtype
    y_ref, grads_ref = case.theirs(x, dy)
    parity("y", y, y_ref)
    for key, g in grads.items():
        assert isinstance(g, np.ndarray) and g.dtype == dtype, key
        reference = grads_ref[key]
        if name == "hardsigmoid" and dtype == np.float64:
            reference = reference / TORCH_SIXTH / 6
        parity(f"d{key}", g, reference)


@eq("ACT-3")
@pytest.mark.torch
def test_hardsigmoid_gradient_differs_from_torch_only_by_its_float32_sixth():
    """torch's float64 gradient is exactly dy·float32(1/6) inside (−3, 3): the whole gap."""
    x = np.linspace(-4, 4, 81)
    dy = np.random.default_rng(6).standard_normal(x.shape)
    _, grads_ref = CASES["hardsigmoid"].theirs(x, dy)
    inside = (x > -3) & (x < 3)
    np.testing.assert_array_equal(grads_ref["input"], np.where(inside, dy * TORCH_SIXTH, 0.0))
    np.testing.assert_array_equal(F.hardsigmoid_backward(dy, x), np.where(inside, dy / 6, 0.0))


@pytest.mark.engineering
@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(lambda: F.silu([1.0, 2.0]), TypeError, "ndarray", id="list"),
        pytest.param(lambda: F.gelu(np.arange(3)), TypeError, "float32 or float64", id="int"),
        pytest.param(lambda: F.gelu(np.ones(3), "exact"), ValueError, "approximate", id="gelu"),
        pytest.param(
            lambda: F.hardtanh(np.ones(3), 1.0, -1.0), ValueError, "min_val", id="hardtanh"
        ),
        pytest.param(lambda: F.celu(np.ones(3), 0.0), ValueError, "alpha", id="celu-alpha0"),
        pytest.param(
            lambda: F.mish_backward(np.ones(2), np.ones(3)), ValueError, "shape", id="dy-shape"
        ),
        pytest.param(
            lambda: F.elu_backward(np.ones(3, np.float32), np.ones(3)),
            TypeError,
            "dtype",
            id="dy-dtype",
        ),
        pytest.param(
            lambda: F.prelu(np.ones((2, 3)), np.ones(2)), ValueError, "channels", id="prelu-c"
        ),
        pytest.param(
            lambda: F.prelu(np.ones((2, 3)), np.ones((1, 3))), ValueError, "1-D", id="prelu-2d"
        ),
        pytest.param(lambda: F.prelu(np.array(1.0), np.ones(2)), ValueError, "0-d", id="prelu-0d"),
        pytest.param(
            lambda: F.prelu(np.ones(3), np.ones(1, np.float32)), TypeError, "dtype", id="prelu-dt"
        ),
        pytest.param(lambda: F.glu(np.ones((2, 3))), ValueError, "even", id="glu-odd"),
        pytest.param(lambda: F.glu(np.array(1.0)), ValueError, "0-d", id="glu-0d"),
        pytest.param(lambda: F.glu(np.ones((2, 4)), 2), ValueError, "out of range", id="glu-dim"),
        pytest.param(
            lambda: F.glu_backward(np.ones((2, 4)), np.ones((2, 4))),
            ValueError,
            "shape",
            id="glu-dy",
        ),
    ],
)
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
