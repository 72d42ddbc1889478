"""The normalisation family against torch, finite differences and literal loops.

[NRM-1 … NRM-6] Forward and every gradient (input, weight, bias) against torch autograd in
float64 at 1e-10 with a random upstream gradient, and in float32 under the suite's float32
rule (`float32_bound`: ten times torch float32's own error against float64, at least ten
float32 ulps); finite differences as a second witness; local response norm against its
literal loop; instance norm's running statistics after torch's in-place update.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn.functional as F
from ref_cnn.functional.layer_norm import standardized, standardized_backward
from ref_cnn.literal import normalization as literal

torch = optional("torch")
tf = optional("torch.nn.functional")
eq = pytest.mark.equation

EQUATION = {
    "layer_norm": "NRM-1",
    "rms_norm": "NRM-2",
    "group_norm": "NRM-3",
    "instance_norm": "NRM-4",
    "local_response_norm": "NRM-5",
    "normalize": "NRM-6",
}
# case → (op, x's shape, the array arguments' shapes, the other arguments); the op's
# backward returns the gradients of x and of those arrays, in that order
SPECS = {
    "layer_norm-CHW": (
        "layer_norm",
        (4, 3, 5, 6),
        {"weight": (3, 5, 6), "bias": (3, 5, 6)},
        {"normalized_shape": (3, 5, 6), "eps": 1e-5},
    ),
    "layer_norm-W-no-affine": ("layer_norm", (2, 3, 4, 7), {}, {"normalized_shape": (7,)}),
    "rms_norm-HW-eps-None": (
        "rms_norm",
        (3, 4, 5, 6),
        {"weight": (5, 6)},
        {"normalized_shape": (5, 6)},
    ),
    "group_norm-G3": (
        "group_norm",
        (3, 6, 5, 4),
        {"weight": (6,), "bias": (6,)},
        {"num_groups": 3, "eps": 1e-3},
    ),
    "group_norm-G1-NCL": (
        "group_norm",
        (2, 4, 9),
        {"weight": (4,), "bias": (4,)},
        {"num_groups": 1},
    ),
    "instance_norm-NCHW": (
        "instance_norm",
        (3, 4, 5, 6),
        {"weight": (4,), "bias": (4,)},
        {"eps": 1e-4},
    ),
    "local_response_norm-size5-NCHW": (
        "local_response_norm",
        (2, 7, 4, 5),
        {},
        {"size": 5, "alpha": 0.1, "beta": 0.75, "k": 2.0},
    ),
    "local_response_norm-size2-NCL": (
        "local_response_norm",
        (2, 6, 9),
        {},
        {"size": 2, "alpha": 0.5, "beta": 0.5, "k": 1.0},
    ),
    "normalize-p2-dim1": ("normalize", (3, 5, 4, 4), {}, {"p": 2.0, "dim": 1}),
    "normalize-p3-dim-1": ("normalize", (3, 5, 6), {}, {"p": 3.0, "dim": -1}),
    "normalize-p1.5-dim0": ("normalize", (4, 5), {}, {"p": 1.5, "dim": 0}),
    "normalize-p-inf": ("normalize", (3, 5, 6), {}, {"p": float("inf"), "dim": 1}),
}
PARAMS = [pytest.param(name, id=name, marks=eq(EQUATION[spec[0]])) for name, spec in SPECS.items()]


def _data(name, dtype, seed=0):
    shape, arrays, opts = SPECS[name][1:]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + 0.5  # an offset: the mean matters
    values = {k: rng.standard_normal(s) + 1 for k, s in arrays.items()}
    dy = rng.standard_normal(shape)
    return x.astype(dtype), {k: v.astype(dtype) for k, v in values.items()}, opts, dy.astype(dtype)


def _ours(name, x, arrays, opts, dy):
    op = SPECS[name][0]
    grads = getattr(F, f"{op}_backward")(dy, x, **arrays, **opts)
    grads = grads if isinstance(grads, tuple) else (grads,)
    names = ("input", *arrays)
    assert all(g is None for g in grads[len(names) :]), "a gradient for an absent weight/bias"
    y = getattr(F, op)(x, **arrays, **opts)
    return y, dict(zip(names, grads[: len(names)], strict=True))


def _torch(name, x, arrays, opts, dy):
    leaves = {"input": t(x, True)} | {k: t(v, True) for k, v in arrays.items()}
    y = getattr(tf, SPECS[name][0])(leaves["input"], **{k: leaves[k] for k in arrays}, **opts)
    y.backward(t(dy))
    return n(y), {k: n(v.grad) for k, v in leaves.items()}


@pytest.mark.parametrize("name", PARAMS)
@pytest.mark.torch
def test_float64_matches_torch(name, parity):
    """Forward and every gradient, float64, 1e-10, random upstream gradient."""
    x, arrays, opts, dy = _data(name, np.float64)
    y, grads = _ours(name, x, arrays, opts, dy)
    y_ref, grads_ref = _torch(name, x, arrays, opts, dy)
    parity("y", y, y_ref)
    for k in grads_ref:
        parity(f"d{k}", grads[k], grads_ref[k])


@pytest.mark.parametrize("name", PARAMS)
@pytest.mark.torch
def test_float32_rule(name, f32_parity):
    """float32 in, float32 out, within ten times torch float32's own error against torch
    float64 on the same case (and at least ten float32 ulps)."""
    x, arrays, opts, dy = _data(name, np.float64)
    y64, grads64 = _torch(name, x, arrays, opts, dy)
    f32 = {k: v.astype(np.float32) for k, v in arrays.items()}
    x32, dy32 = x.astype(np.float32), dy.astype(np.float32)
    y_t32, grads_t32 = _torch(name, x32, f32, opts, dy32)
    y, grads = _ours(name, x32, f32, opts, dy32)
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())
    for quantity, ours, theirs, ref in [("y", y, y_t32, y64)] + [
        (f"d{k}", grads[k], grads_t32[k], grads64[k]) for k in grads64
    ]:
        f32_parity(quantity, ours, theirs, ref)


@pytest.mark.parametrize("name", PARAMS)
def test_gradients_match_finite_differences(name, fd_check):
    """A second witness: central differences of Σ dy·y for the input and each array argument."""
    x, arrays, opts, dy = _data(name, np.float64, seed=1)
    forward = getattr(F, SPECS[name][0])
    _, grads = _ours(name, x, arrays, opts, dy)
    fd_check("dinput", lambda v: forward(v, **arrays, **opts), x, dy, grads["input"])
    for k in arrays:

        def moved(v, k=k):
            return forward(x, **(arrays | {k: v}), **opts)

        fd_check(f"d{k}", moved, arrays[k], dy, grads[k])


# ------------------------------------------------------------------ local response norm's loop

LRN_CASES = [
    pytest.param((2, 4, 3, 2), 1, id="size1"),
    pytest.param((2, 4, 3, 2), 2, id="size2-even"),
    pytest.param((1, 5, 4), 3, id="size3-NCL"),
    pytest.param((2, 3, 2, 3), 5, id="size5-wider-than-C"),
]


@pytest.mark.parametrize(("shape", "size"), LRN_CASES)
@eq("NRM-5")
def test_local_response_norm_matches_its_literal_loop(shape, size, parity):
    """The window view and its reversed window for the backward equal the loop over
    c' from c − ⌊n/2⌋ to c + ⌊(n − 1)/2⌋, zero-padded."""
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    opts = {"alpha": 0.3, "beta": 0.6, "k": 1.5}
    y = F.local_response_norm(x, size, **opts)
    parity("y", y, literal.local_response_norm(x, size, **opts), witness="literal loop")
    parity(
        "dx",
        F.local_response_norm_backward(dy, x, size, **opts),
        literal.local_response_norm_backward(dy, x, size, **opts),
        witness="literal loop",
    )


# ------------------------------------------------------------------ instance norm's running statistics


@pytest.mark.parametrize("momentum", [0.1, 0.5, -1.2], ids=["m0.1", "m0.5", "m-1.2"])
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 3, 7)], ids=["NCHW", "NCL"])
@eq("NRM-4")
@pytest.mark.torch
def test_instance_norm_running_statistics_match_torchs_update(shape, momentum, parity):
    """torch updates running_mean/var in place (the unbiased variance of each plane,
    averaged over the batch); instance_norm_running returns the same pair, and
    instance_norm leaves its arguments as they were."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3 + 1
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5
    before = (x.copy(), rm.copy(), rv.copy())
    rm_t, rv_t = t(rm), t(rv)
    y_t = tf.instance_norm(t(x), rm_t, rv_t, use_input_stats=True, momentum=momentum)
    y = F.instance_norm(x, rm, rv, use_input_stats=True, momentum=momentum)
    mean, var = F.instance_norm_running(x, rm, rv, momentum)
    parity("y", y, n(y_t))
    parity("running_mean", mean, n(rm_t))
    parity("running_var", var, n(rv_t))
    for a, b in zip((x, rm, rv), before, strict=True):
        np.testing.assert_array_equal(a, b)


@eq("NRM-4")
@pytest.mark.torch
def test_instance_norm_with_running_statistics_matches_torch(parity):
    """use_input_stats=False: the running statistics normalise, an affine map per channel."""
    rng = np.random.default_rng(4)
    x, dy = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    opts = {"use_input_stats": False, "eps": 1e-3}
    xt, wt, bt = t(x, True), t(w, True), t(b, True)
    y_t = tf.instance_norm(xt, t(rm), t(rv), wt, bt, **opts)
    y_t.backward(t(dy))
    parity("y", F.instance_norm(x, rm, rv, w, b, **opts), n(y_t))
    dx, dw, db = F.instance_norm_backward(dy, x, rm, rv, w, b, **opts)
    for name, ours, theirs in (("dx", dx, xt), ("dweight", dw, wt), ("dbias", db, bt)):
        parity(name, ours, n(theirs.grad))


# ------------------------------------------------------------------ rules and small groups


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("NRM-2")
@pytest.mark.torch
def test_rms_norm_eps_none_is_the_dtypes_machine_epsilon(dtype, parity):
    """Values of ~1e-4: mean(x²) ~ 1e-8, where float32's ε = 1.2e-7 dominates and float64's
    2.2e-16 does not. torch's rule: eps=None is torch.finfo(x.dtype).eps."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((3, 8)) * 1e-4).astype(dtype)
    ours = F.rms_norm(x, (8,))
    np.testing.assert_array_equal(ours, F.rms_norm(x, (8,), eps=float(np.finfo(dtype).eps)))
    bound = None if dtype == np.float64 else 10 * float(np.finfo(np.float32).eps)
    parity("y", ours, n(tf.rms_norm(t(x), (8,))), rtol=bound)


@eq("NRM-1", "NRM-6")
def test_degenerate_groups_give_the_exact_gradient():
    """Along one value, normalize(x) = sign(x) and its gradient is 0; layer norm of one value
    is β with gradient 0; of two values the input gradient is only the ε part,
    (ε/(σ² + ε))·u·mean(g·u)/√(σ² + ε), u = ±1 (see `standardized_backward`)."""
    rng = np.random.default_rng(6)
    x, dy = rng.standard_normal((4, 1, 3)) * 5, rng.standard_normal((4, 1, 3))
    for p in (0.5, 1.0, 2.0, 3.0):
        assert np.all(F.normalize_backward(dy, x, p, 1) == 0)
    assert np.all(F.layer_norm_backward(dy, x, (1, 3))[0] != 0)
    one = x[:, :, :1].copy()
    assert np.all(F.layer_norm_backward(dy[:, :, :1], one, (1,))[0] == 0)
    pair, g, eps = x[:, 0, :2].copy(), dy[:, 0, :2].copy(), 1e-5
    half = (pair[:, :1] - pair[:, 1:]) / 2  # x − μ of the first value, σ = |half|
    u = np.sign(half) * np.array([1.0, -1.0])
    g_u = np.mean(g * u, axis=1, keepdims=True)
    var = half**2
    expected = eps / (var + eps) * u * g_u / np.sqrt(var + eps)
    np.testing.assert_allclose(
        F.layer_norm_backward(g, pair, (2,), eps=eps)[0], expected, rtol=1e-13
    )


@pytest.mark.parametrize("centred", [True, False], ids=["centred", "rms"])
@pytest.mark.parametrize("values", [3, 5, 24], ids=lambda v: f"{v}-values")
@eq("NRM-1", "NRM-2")
def test_standardized_backward_is_the_written_equation(values, centred, parity):
    """The split form of `standardized_backward` equals (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε)
    evaluated as written, where nothing cancels (groups of three values and more)."""
    rng = np.random.default_rng(7)
    x, g = rng.standard_normal((4, values)) * 3 + 1, rng.standard_normal((4, values))
    eps = 0.3
    xhat, inv_std = standardized(x, (1,), eps, centred)
    g_mean = g.mean(axis=1, keepdims=True) if centred else 0.0
    written = inv_std * (g - g_mean - xhat * np.mean(g * xhat, axis=1, keepdims=True))
    ours = standardized_backward(g, x, (1,), eps, centred)
    parity("dx", ours, written, witness="the equation as written")


# ------------------------------------------------------------------ bad input

BAD = [
    pytest.param(
        lambda: F.layer_norm(np.ones((2, 3)), (4,)),
        ValueError,
        "last 1 axes",
        id="layer_norm-shape",
    ),
    pytest.param(
        lambda: F.layer_norm(np.ones((2, 3)), ()),
        ValueError,
        "at least one",
        id="layer_norm-empty-shape",
    ),
    pytest.param(
        lambda: F.layer_norm(np.ones((2, 3)), (3,), np.ones(4)),
        ValueError,
        "weight",
        id="layer_norm-weight",
    ),
    pytest.param(
        lambda: F.layer_norm(np.ones((2, 3)), 3.0),
        TypeError,
        "normalized_shape",
        id="layer_norm-int-shape",
    ),
    pytest.param(
        lambda: F.rms_norm(np.ones((2, 3), np.float32), (3,), np.ones(3)),
        TypeError,
        "dtypes differ",
        id="rms_norm-dtypes",
    ),
    pytest.param(
        lambda: F.layer_norm_backward(np.ones((2, 3), np.float32), np.ones((2, 3)), (3,)),
        TypeError,
        "dtypes differ",
        id="layer_norm_backward-dy-dtype",
    ),
    pytest.param(
        lambda: F.group_norm(np.ones((2, 6, 3)), 4), ValueError, "divisor", id="group_norm-groups"
    ),
    pytest.param(
        lambda: F.group_norm(np.ones((1, 2)), 2),
        ValueError,
        "more than one value",
        id="group_norm-one-value",
    ),
    pytest.param(
        lambda: F.instance_norm(np.ones((2, 3, 1))),
        ValueError,
        "more than one position",
        id="instance_norm-one-position",
    ),
    pytest.param(
        lambda: F.instance_norm(np.ones((2, 3, 4)), use_input_stats=False),
        ValueError,
        "running_mean",
        id="instance_norm-no-stats",
    ),
    pytest.param(
        lambda: F.local_response_norm(np.ones((2, 3)), 2), ValueError, "3 or more", id="lrn-2d"
    ),
    pytest.param(
        lambda: F.local_response_norm(np.ones((2, 3, 4)), 0), ValueError, "positive", id="lrn-size0"
    ),
    pytest.param(
        lambda: F.normalize(np.ones((2, 3)), dim=2), ValueError, "dim", id="normalize-dim"
    ),
    pytest.param(
        lambda: F.normalize(np.ones((2, 3), int)),
        TypeError,
        "float32 or float64",
        id="normalize-int",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
@pytest.mark.engineering
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()
