"""Activations and their derivatives against torch autograd and finite differences.

[AV-6, AV-9, AV-13, MB-9]
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from alternatives import readable_and_alternative, rows
from helpers import n, optional, t

from ref_cnn import functional as F

torch = optional("torch")

eq = pytest.mark.equation

# name: (ours forward, ours backward, which value the backward takes, torch forward)
ACTS = {
    "sigmoid": (F.sigmoid, F.sigmoid_backward, "y", torch.sigmoid),
    "relu": (F.relu, F.relu_backward, "x", torch.relu),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_backward, "x", torch.nn.functional.leaky_relu),
    "tanh": (F.tanh, F.tanh_backward, "y", torch.tanh),
    "softmax": (F.softmax, F.softmax_backward, "y", lambda v: torch.softmax(v, dim=1)),
    "log_softmax": (
        F.log_softmax,
        F.log_softmax_backward,
        "y",
        lambda v: torch.log_softmax(v, dim=1),
    ),
}
# ψ of MB-9 is any elementwise activation; softmax and log_softmax verify no catalogued
# equation (they feed MB-13's cross-entropy, tested in test_losses.py)
IDS = {
    "sigmoid": ("AV-6", "AV-9", "AV-13"),
    "relu": ("MB-9",),
    "leaky_relu": ("MB-9",),
    "tanh": ("MB-9",),
}
PARAMS = [
    pytest.param(k, id=k, marks=pytest.mark.equation(*IDS[k]) if k in IDS else ()) for k in ACTS
]


def _run(name, x, dy):
    fwd, bwd, takes, _ = ACTS[name]
    y = fwd(x)
    return y, bwd(dy, y if takes == "y" else x)


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0], ids=["scale1", "scale30", "scale1000"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", PARAMS)
@pytest.mark.torch
def test_activation_matches_torch(name, dtype, scale, parity):
    """Forward and backward, including |x| up to 1000 where a naive e^(−x) overflows."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 5, 3)) * scale).astype(dtype)
    x[0, 0, 0] = 0.0  # the kink of relu / leaky_relu: torch's derivative there is 0 / slope
    dy = rng.standard_normal(x.shape).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings
        y, dx = _run(name, x, dy)
    xt = t(x, True)
    yt = ACTS[name][3](xt)
    yt.backward(t(dy))
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))


@pytest.mark.parametrize("name", PARAMS)
def test_activation_gradient_matches_finite_differences(name, fd_check):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)) + 0.1  # away from relu's kink
    dy = rng.standard_normal(x.shape)
    _, dx = _run(name, x, dy)
    fd_check("dx", ACTS[name][0], x, dy, dx)


@eq("AV-6")
def test_sigmoid_derivative_written_on_the_output():
    """AV-6: σ′(x) = σ(x)(1 − σ(x)) = A(1 − A): the backward takes A, not x."""
    x = np.linspace(-5, 5, 11)
    a = F.sigmoid(x)
    np.testing.assert_allclose(
        F.sigmoid_backward(np.ones_like(a), a), np.exp(-x) / (1 + np.exp(-x)) ** 2, rtol=1e-12
    )  # 1 − A cancels near A = 1: at x = 5 it carries ε/(1 − A) ≈ 3e−14 relative error


@pytest.mark.parametrize("name", list(ACTS))
@pytest.mark.engineering
@pytest.mark.torch
def test_nan_propagates_like_torch(name):
    x = np.array([[np.nan, 1.0, -2.0]])
    ours = ACTS[name][0](x)
    ref = n(ACTS[name][3](t(x)))
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))


@pytest.mark.engineering
@pytest.mark.torch
def test_relu_backward_with_non_finite_dy_is_torchs():
    """Where dy is ±∞ or NaN and x ≤ 0 the gradient is 0, as torch's (dy·0 would be NaN):
    the fast multiply-by-mask path must not be taken there. Where x is NaN, dy passes (torch
    zeroes only where x ≤ 0)."""
    x = np.array([-1.0, 0.0, 2.0, -3.0, 4.0, 5.0, np.nan, np.nan])
    dy = np.array([np.nan, np.inf, 1.0, -np.inf, np.nan, -np.inf, 2.0, np.inf])
    xt = t(x).requires_grad_()
    torch.relu(xt).backward(t(dy))
    np.testing.assert_array_equal(F.relu_backward(dy, x), n(xt.grad))


@pytest.mark.engineering
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("op", "name"), rows("relu", "relu_backward"))
@pytest.mark.parametrize("shape", [(8, 16, 14, 14), (3, 7), ()], ids=["resnet-like", "2d", "0d"])
def test_relu_alternatives_match_the_readable_body(shape, op, name, dtype, monkeypatch):
    """Every registered ReLU gives the readable body's values (a comparison and a select per
    element, no rounding), NaN and ±∞ in x and in the random dy included."""
    rng = np.random.default_rng(4)
    x, dy = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    if x.size > 12:
        x.flat[:6] = [np.nan, -np.inf, np.inf, 0.0, -0.0, 2.0]
        x.flat[6:12] = [-1.0, 0.0, -2.0, 3.0, np.nan, 4.0]
        dy.flat[6:12] = [np.nan, np.inf, -np.inf, np.nan, 1.0, np.inf]
    call = (lambda: F.relu(x)) if op == "relu" else (lambda: F.relu_backward(dy, x))
    readable, fast = readable_and_alternative(monkeypatch, op, name, call)
    assert fast.dtype == readable.dtype and fast.shape == readable.shape
    np.testing.assert_array_equal(fast, readable)
