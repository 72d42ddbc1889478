"""linear / linear_backward (the article's layout, W of shape (inputs, neurons)).

[AV-5, AV-10, AV-11, AV-13, MB-11]
"""

from __future__ import annotations

import numpy as np
import pytest
from alternatives import assert_close, readable_and_alternative, rows
from helpers import n, optional, t

from ref_cnn.conformance import LINEAR_CASES
from ref_cnn.functional import flatten, linear, linear_backward

torch = optional("torch")

eq = pytest.mark.equation

CASES = [pytest.param(*c["shape"], id=c["id"]) for c in LINEAR_CASES]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("batch", "m", "k"), CASES)
@eq("AV-5", "AV-10", "AV-11", "AV-13")
@pytest.mark.torch
def test_linear_matches_torch_linear(batch, m, k, dtype, parity):
    """torch.nn.Linear holds weight = Wᵀ, shape (neurons, inputs)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, m)).astype(dtype)
    w = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    layer = torch.nn.Linear(m, k).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        layer.weight.copy_(t(w.T))
        layer.bias.copy_(t(b))
    xt = t(x, True)
    yt = layer(xt)
    y = linear(x, w, b)
    parity("y", y, n(yt))
    dy = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(t(dy))
    dx, dw, db = linear_backward(dy, x, w)
    parity("dx", dx, n(xt.grad))
    parity("dw", dw, n(layer.weight.grad).T)  # AV-10: the gradient has W's shape (m, n)
    parity("db", db, n(layer.bias.grad))  # AV-11: summed over samples


@eq("AV-10", "AV-11", "AV-13")
def test_linear_gradients_match_finite_differences(fd_check):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dy = rng.standard_normal((5, 3))
    dx, dw, db = linear_backward(dy, x, w)
    fd_check("dx", lambda v: linear(v, w, b), x, dy, dx)
    fd_check("dw", lambda v: linear(x, v, b), w, dy, dw)
    fd_check("db", lambda v: linear(x, w, v), b, dy, db)


@eq("MB-11")
@pytest.mark.torch
def test_mb11_fully_connected_on_a_flattened_volume(parity):
    """z_j = Σ_l w_{j,l}·a_l + b_j after flattening (n_H, n_W, n_C) → n_H·n_W·n_C; MB's w is Wᵀ."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4, 5, 5))
    w_mb = rng.standard_normal((6, 4 * 5 * 5))  # MB's w_{j,l}: (neurons, inputs), torch layout
    b = rng.standard_normal(6)
    z = linear(flatten(a), w_mb.T, b)
    ref = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(100, 6).double())
    with torch.no_grad():
        ref[1].weight.copy_(t(w_mb))
        ref[1].bias.copy_(t(b))
    parity("z", z, n(ref(t(a))))
    explicit = np.array([[w_mb[j] @ flatten(a)[s] + b[j] for j in range(6)] for s in range(3)])
    parity("z", z, explicit, witness="the sum as written")


# float64: BLAS's sums over K in another order (`products.product` cuts a long K into
# blocks for results of at most 500 elements, and each task multiplies its own rows); a
# sum of random terms cancels to ~√K terms' size, so its relative rounding is ~√K·ε
ALTERNATIVE_RTOL = {np.dtype(np.float64): 2e-15, np.dtype(np.float32): 1e-6}
SHAPES = [
    pytest.param((batch, m), (m, k), id=c["id"])
    for c in LINEAR_CASES
    for batch, m, k in [c["shape"]]
]
SHAPES += [
    pytest.param((3, 5, 40), (40, 30), id="leading-axes"),
    pytest.param((7,), (7, 3), id="one-sample"),
    pytest.param((600, 40), (40, 30), id="many-rows"),
]


@pytest.mark.engineering
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("op", "name"), rows("linear", "linear_backward"))
@pytest.mark.parametrize(("x_shape", "w_shape"), SHAPES)
def test_linear_alternatives_match_the_readable_body(
    x_shape, w_shape, op, name, dtype, monkeypatch
):
    """Every registered implementation of linear computes the readable y = x·W + b and its
    gradients (random dy), to BLAS's rounding."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1]).astype(dtype)
    dy = rng.standard_normal((*x_shape[:-1], w_shape[1])).astype(dtype)
    if op == "linear":
        quantities, call = ("y",), lambda: (linear(x, w, b),)
    else:
        quantities, call = ("dx", "dw", "db"), lambda: linear_backward(dy, x, w)
    readable, fast = readable_and_alternative(monkeypatch, op, name, call)
    # Two summation orders of a length-n sum of products differ by at most n·eps·Σ|a·b|
    # (Higham's γ_n): the bound for a long sum (dw over 600 rows) relative to its largest
    # value, where that exceeds the flat bound.
    x2, dy2 = np.abs(x).reshape(-1, x.shape[-1]), np.abs(dy).reshape(-1, dy.shape[-1])
    sizes = {"y": (x_shape[-1], x2 @ np.abs(w) + np.abs(b)), "dx": (w_shape[1], dy2 @ np.abs(w).T),
             "dw": (x2.shape[0], x2.T @ dy2), "db": (x2.shape[0], dy2.sum(axis=0))}  # fmt: skip
    eps = np.finfo(dtype).eps
    for quantity, ours, ref in zip(quantities, fast, readable, strict=True):
        n, magnitude = sizes[quantity]
        gamma = (
            n * eps * float(magnitude.max()) / max(float(np.abs(ref).max()), np.finfo(dtype).tiny)
        )
        assert_close(quantity, ours, ref, max(ALTERNATIVE_RTOL[np.dtype(dtype)], gamma))
