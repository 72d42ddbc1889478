"""The AV article's network, forward summary and every gradient of the chain rule.

[AV-7, AV-8, AV-9, AV-10, AV-11, AV-13, AV-14, AV-5, AV-6]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn.articles.av_network import av_backward, av_forward, av_loss

torch = optional("torch")
tf = optional("torch.nn.functional")

eq = pytest.mark.equation


def _setup(dtype=np.float64, n_images=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n_images, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 2, (n_images, 1)).astype(dtype)
    f = rng.uniform(size=(3, 1, 5, 5)).astype(dtype)  # AV's U[0, 1) filters
    w = (rng.standard_normal((1728, 1)) * 0.01).astype(dtype)  # small: σ(Z2) not saturated
    b = rng.standard_normal(1).astype(dtype)
    return x, y, f, w, b


def _torch_chain(x, y, f, w, b):
    ft, wt, bt = t(f, True), t(w, True), t(b, True)
    z1 = tf.conv2d(t(x), ft)
    a1 = torch.sigmoid(z1).flatten(1)
    a1.retain_grad()
    z2 = a1 @ wt + bt
    z2.retain_grad()
    o = torch.sigmoid(z2)
    o.retain_grad()
    e = 0.5 * torch.sum((t(y) - o) ** 2)
    e.backward()
    return dict(z1=z1, a1=a1, z2=z2, o=o, e=e, f=ft, w=wt, b=bt)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("AV-7", "AV-5", "AV-6")
@pytest.mark.torch
def test_forward_summary_matches_torch_chain(dtype, parity):
    x, y, f, w, b = _setup(dtype)
    ours = av_forward(x, f, w, b)
    ref = _torch_chain(x, y, f, w, b)
    parity("Z1", ours.z1, n(ref["z1"]))
    parity("A1", ours.a1, n(ref["a1"]))
    parity("Z2", ours.z2, n(ref["z2"]))
    parity("O", ours.o, n(ref["o"]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("AV-8", "AV-9", "AV-10", "AV-11", "AV-13", "AV-14")
@pytest.mark.torch
def test_every_gradient_of_the_chain_matches_autograd(dtype, parity):
    x, y, f, w, b = _setup(dtype)
    fwd = av_forward(x, f, w, b)
    ref = _torch_chain(x, y, f, w, b)
    parity("E", av_loss(fwd, y), n(ref["e"]))
    df, dw, db = av_backward(fwd, y, f, w)
    parity("dE/df", df, n(ref["f"].grad))  # AV-14
    parity("dE/dW", dw, n(ref["w"].grad))  # AV-10
    parity("dE/db", db, n(ref["b"].grad))  # AV-11
    # the intermediate factors, each against autograd's gradient at that node
    parity("dE/dO", -(y - fwd.o), n(ref["o"].grad))  # AV-8
    parity("dE/dZ2", -(y - fwd.o) * fwd.o * (1 - fwd.o), n(ref["z2"].grad))  # AV-9
    parity("dE/dA1", n(ref["z2"].grad) @ w.T, n(ref["a1"].grad))  # AV-13: ∂Z2/∂A1 = Wᵀ


@eq("AV-10", "AV-11", "AV-14")
def test_chain_gradients_match_finite_differences(fd_check):
    x, y, f, w, b = _setup(n_images=3, seed=1)
    fwd = av_forward(x, f, w, b)
    df, dw, db = av_backward(fwd, y, f, w)
    one = np.ones(())
    fd_check("dE/df", lambda v: av_loss(av_forward(x, v, w, b), y), f, one, df)
    fd_check("dE/dW", lambda v: av_loss(av_forward(x, f, v, b), y), w, one, dw)
    fd_check("dE/db", lambda v: av_loss(av_forward(x, f, w, v), y), b, one, db)


@eq("AV-3", "AV-10", "AV-14")
def test_article_style_per_patch_pass_equals_the_vectorised_one(parity):
    """The benchmark's per-patch baseline computes the same numbers as ref_cnn's fast path."""
    from ref_cnn import literal

    x, y, f, w, _ = _setup(n_images=3, seed=2)
    err, df, dw = literal.av_pass_per_patch(x, y, f, w)
    fwd = av_forward(x, f, w)
    fast_df, fast_dw, _ = av_backward(fwd, y, f, w)
    parity("E", np.array(err), np.array(float(av_loss(fwd, y))), witness="literal loops")
    parity("dE/df", df, fast_df, witness="literal loops")
    parity("dE/dW", dw, fast_dw, witness="literal loops")
