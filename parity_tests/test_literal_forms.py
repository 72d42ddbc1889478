"""The articles' own forms of the conv gradients (`ref_cnn.literal`): IC-7 as a sum of full
convolutions cropped by P, IC-5 and AV-14 as valid correlations, against the fast path and
torch. Stride > 1 goes through δ dilated by the stride.

[IC-5, IC-7, IC-10, IC-11, AV-14]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import literal
from ref_cnn.functional import conv2d, conv2d_backward

tf = optional("torch.nn.functional")
eq = pytest.mark.equation

CASES = [
    pytest.param((2, 3, 7, 6), (4, 3, 3, 2), {}, id="s1-p0-k3x2", marks=eq("IC-5", "IC-7")),
    pytest.param(
        (1, 2, 6, 6), (3, 2, 3, 3), {"padding": 1}, id="s1-p1", marks=eq("IC-5", "IC-7", "IC-11")
    ),
    pytest.param(
        (2, 2, 9, 8),
        (3, 2, 3, 3),
        {"stride": 2, "padding": 1},
        id="s2-p1",
        marks=eq("IC-5", "IC-7", "IC-10", "IC-11"),
    ),
    pytest.param(
        (2, 1, 10, 11),
        (2, 1, 2, 3),
        {"stride": (3, 2)},
        id="s3x2-uncovered-rows",
        marks=eq("IC-5", "IC-7", "IC-10"),
    ),
]


def _data(x_shape, w_shape, kw, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dy = rng.standard_normal(conv2d(x, w, **kw).shape)
    return x, w, dy


def _torch_grads(x, w, dy, kw):
    xt, wt = t(x, True), t(w, True)
    tf.conv2d(xt, wt, **kw).backward(t(dy))
    return n(xt.grad), n(wt.grad)


@pytest.mark.parametrize(("x_shape", "w_shape", "kw"), CASES)
def test_ic7_input_gradient_as_full_convolutions(x_shape, w_shape, kw, parity):
    """∂E/∂X_j = Σ_i convolve2d(δ_i, K_ij, "full") cropped by P equals conv2d_backward's dx."""
    x, w, dy = _data(x_shape, w_shape, kw, seed=1)
    ours = literal.ic7_input_gradient(dy, x, w, **kw)
    parity("dx", ours, conv2d_backward(dy, x, w, **kw)[0], witness="fast path")


@pytest.mark.parametrize(("x_shape", "w_shape", "kw"), CASES)
def test_ic5_kernel_gradient_as_valid_correlations(x_shape, w_shape, kw, parity):
    """∂E/∂K_ij = Σ_n correlate2d(X_j, δ_i, "valid") equals conv2d_backward's dw."""
    x, w, dy = _data(x_shape, w_shape, kw, seed=2)
    ours = literal.ic5_kernel_gradient(dy, x, w, **kw)
    parity("dw", ours, conv2d_backward(dy, x, w, **kw)[1], witness="fast path")


@pytest.mark.parametrize(("x_shape", "w_shape", "kw"), CASES)
@pytest.mark.torch
def test_ic5_and_ic7_forms_match_torch(x_shape, w_shape, kw, parity):
    x, w, dy = _data(x_shape, w_shape, kw, seed=3)
    dx_ref, dw_ref = _torch_grads(x, w, dy, kw)
    parity("dx", literal.ic7_input_gradient(dy, x, w, **kw), dx_ref)
    parity("dw", literal.ic5_kernel_gradient(dy, x, w, **kw), dw_ref)


AV_CASES = [pytest.param({}, id="s1"), pytest.param({"stride": 2}, id="s2")]


@pytest.mark.parametrize("kw", AV_CASES)
@eq("AV-14")
def test_av14_filter_gradient_as_one_correlation_per_image(kw, parity):
    """AV's setting (single-channel images, 3 filters 5×5, no bias): ∂E/∂f = Σ_n X_n ⋆ δ1_n."""
    x, f, delta = _data((6, 1, 12, 12), (3, 1, 5, 5), kw, seed=4)
    ours = literal.av14_filter_gradient(delta, x, f, **kw)
    parity("df", ours, conv2d_backward(delta, x, f, **kw)[1], witness="fast path")


@pytest.mark.parametrize("kw", AV_CASES)
@eq("AV-14")
@pytest.mark.torch
def test_av14_form_matches_torch(kw, parity):
    x, f, delta = _data((6, 1, 12, 12), (3, 1, 5, 5), kw, seed=5)
    parity("df", literal.av14_filter_gradient(delta, x, f, **kw), _torch_grads(x, f, delta, kw)[1])


def test_av14_form_refuses_multichannel_images():
    x, f = np.zeros((1, 2, 6, 6)), np.zeros((1, 2, 3, 3))
    with pytest.raises(ValueError, match="single-channel"):
        literal.av14_filter_gradient(np.zeros((1, 1, 4, 4)), x, f)


UNBATCHED = [
    pytest.param(
        "conv2d", {"stride": 2, "padding": 1}, id="conv2d-s2-p1", marks=eq("IC-4", "IC-7")
    ),
    pytest.param(
        "max_pool2d",
        {"kernel_size": 3, "stride": 2, "padding": 1},
        id="max-3x3-s2-p1",
        marks=eq("IC-8"),
    ),
    pytest.param(
        "avg_pool2d", {"kernel_size": 2, "ceil_mode": True}, id="avg-2x2-ceil", marks=eq("IC-9")
    ),
]


@pytest.mark.parametrize(("op", "kw"), UNBATCHED)
@pytest.mark.torch
def test_layer_loops_take_an_unbatched_sample(op, kw, parity):
    """(C, H, W) in, (C_out, H_out, W_out) and dx (C, H, W) out, as the fast ops and torch."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 7, 6))
    args = (rng.standard_normal((3, 2, 3, 3)),) if op == "conv2d" else ()
    y = getattr(literal, op)(x, *args, **kw)
    xt = t(x, True)
    yt = getattr(tf, op)(xt, *(t(a) for a in args), **kw)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(t(dy))
    dx = getattr(literal, f"{op}_backward")(dy, x, *args, **kw)
    dx = dx[0] if op == "conv2d" else dx
    assert y.shape == tuple(yt.shape) and dx.shape == x.shape
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))
