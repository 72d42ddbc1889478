"""Losses and their gradients against torch [AV-8, MB-13]."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import functional as F

torch = optional("torch")
tf = optional("torch.nn.functional")

eq = pytest.mark.equation


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("AV-8")
@pytest.mark.torch
def test_half_squared_error_matches_torch(dtype, parity):
    """E = Σ (y′ − O)²/2 and ∂E/∂O = −(y′ − O), against 0.5·sum((y − O)²) in autograd."""
    rng = np.random.default_rng(0)
    o, y = rng.uniform(size=(200, 1)).astype(dtype), rng.integers(0, 2, (200, 1)).astype(dtype)
    ot = t(o, True)
    et = 0.5 * torch.sum((t(y) - ot) ** 2)
    et.backward()
    parity("E", F.half_squared_error(o, y), n(et))
    parity("dE/dO", F.half_squared_error_backward(o, y), n(ot.grad))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("MB-13")
@pytest.mark.torch
def test_mse_matches_torch(dtype, reduction, parity):
    rng = np.random.default_rng(1)
    o, y = rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    ot = t(o, True)
    lt = tf.mse_loss(ot, t(y), reduction=reduction)
    lt.backward(torch.tensor(0.7, dtype=lt.dtype))
    parity("J", F.mse_loss(o, y, reduction), n(lt))
    parity("dJ/do", F.mse_loss_backward(o, y, reduction, dloss=0.7), n(ot.grad))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("extreme", [False, True], ids=["moderate", "saturated-p-0-and-1"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("MB-13")
@pytest.mark.torch
def test_binary_cross_entropy_matches_torch(dtype, extreme, reduction, parity):
    """Including p exactly 0 and 1, where torch clamps the logs at −100."""
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, size=(8, 2)).astype(dtype)
    y = rng.uniform(size=(8, 2)).astype(dtype)
    if extreme:
        p[0, 0], p[1, 1], y[0, 0], y[1, 1] = 0.0, 1.0, 1.0, 0.0
    pt = t(p, True)
    lt = tf.binary_cross_entropy(pt, t(y), reduction=reduction)
    lt.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(p, y, reduction)
        grad = F.binary_cross_entropy_backward(p, y, reduction)
    parity("J", loss, n(lt))
    parity("dJ/dp", grad, n(pt.grad))


@pytest.mark.parametrize("scale", [1.0, 1000.0], ids=["scale1", "scale1000"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("MB-13")
@pytest.mark.torch
def test_cross_entropy_matches_torch(dtype, reduction, scale, parity):
    """J = (1/m)·Σ −log softmax(z_i)[y_i], stable at logits of ±1000."""
    rng = np.random.default_rng(3)
    z = (rng.standard_normal((7, 10)) * scale).astype(dtype)
    y = rng.integers(0, 10, 7)
    zt = t(z, True)
    lt = tf.cross_entropy(zt, torch.tensor(y), reduction=reduction)
    lt.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(z, y, reduction)
        grad = F.cross_entropy_backward(z, y, reduction)
    parity("J", loss, n(lt))
    parity("dJ/dz", grad, n(zt.grad))


@pytest.mark.parametrize(
    ("loss", "backward"),
    [
        pytest.param(
            F.half_squared_error, F.half_squared_error_backward, id="half-squared", marks=eq("AV-8")
        ),
        pytest.param(F.mse_loss, F.mse_loss_backward, id="mse", marks=eq("MB-13")),
        pytest.param(
            F.binary_cross_entropy, F.binary_cross_entropy_backward, id="bce", marks=eq("MB-13")
        ),
    ],
)
def test_loss_gradient_matches_finite_differences(loss, backward, fd_check):
    rng = np.random.default_rng(4)
    o, y = rng.uniform(0.1, 0.9, (5, 2)), rng.uniform(size=(5, 2))
    fd_check("dJ/do", lambda v: loss(v, y), o, np.ones(()), backward(o, y))


@eq("MB-13")
def test_cross_entropy_gradient_matches_finite_differences(fd_check):
    rng = np.random.default_rng(5)
    z, y = rng.standard_normal((4, 6)), rng.integers(0, 6, 4)
    fd_check(
        "dJ/dz", lambda v: F.cross_entropy(v, y), z, np.ones(()), F.cross_entropy_backward(z, y)
    )
