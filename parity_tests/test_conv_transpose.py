"""conv_transpose2d against torch, the literal scatter loops, and the convolution it transposes.

[IC-3, IC-5, IC-6, IC-7, IC-11]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import literal
from ref_cnn.functional import (
    conv2d,
    conv2d_backward,
    conv_transpose2d,
    conv_transpose2d_backward,
)

tf = optional("torch.nn.functional")

eq = pytest.mark.equation

# (x shape, w shape (C_in, C_out/groups, kH, kW), bias, options)
CASES = [
    pytest.param((2, 3, 4, 5), (3, 2, 3, 3), True, {}, id="full-k3"),
    pytest.param((1, 2, 3, 3), (2, 4, 2, 3), False, {"stride": 2}, id="s2-k2x3-nobias"),
    pytest.param(
        (2, 4, 3, 4),
        (4, 1, 3, 2),
        True,
        {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2},
        id="s2x3-p1x0-op1x2-g2",
    ),
    pytest.param(
        (1, 2, 4, 4),
        (2, 3, 2, 2),
        True,
        {"stride": 1, "padding": 1, "output_padding": (1, 0), "dilation": (2, 1)},
        id="op-beyond-stride-d2",
    ),
    pytest.param((3, 4, 4), (3, 2, 3, 3), True, {"stride": 2, "padding": 1}, id="unbatched"),
    pytest.param((1, 3, 4, 4), (3, 3, 3, 3), False, {"padding": 2}, id="p2-crops-to-valid"),
]


def _bias(w_shape, kw, rng):
    return rng.standard_normal(w_shape[1] * kw.get("groups", 1))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@eq("IC-3", "IC-5", "IC-6", "IC-7", "IC-11")
def test_conv_transpose2d_matches_torch(x_shape, w_shape, bias, kw, dtype, parity):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = _bias(w_shape, kw, rng).astype(dtype) if bias else None
    y = conv_transpose2d(x, w, b, **kw)
    assert y.dtype == dtype
    dy = rng.standard_normal(y.shape).astype(dtype)
    xt, wt = t(x, True), t(w, True)
    bt = t(b, True) if b is not None else None
    yt = tf.conv_transpose2d(xt, wt, bt, **kw)
    yt.backward(t(dy))
    dx, dw, db = conv_transpose2d_backward(dy, x, w, **kw)
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))
    parity("dw", dw, n(wt.grad))
    if bt is not None:
        parity("db", db, n(bt.grad))


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@eq("IC-7", "IC-3", "IC-11")
def test_conv_transpose2d_matches_literal_scatter(x_shape, w_shape, bias, kw, parity):
    """The vectorised scatter against the loop that adds x·w pixel by pixel."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = _bias(w_shape, kw, rng) if bias else None
    parity(
        "y",
        conv_transpose2d(x, w, b, **kw),
        literal.conv_transpose2d(x, w, b, **kw),
        witness="literal loops",
    )


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@eq("IC-7", "IC-5")
def test_conv_transpose2d_is_the_input_gradient_of_conv2d(x_shape, w_shape, bias, kw, parity):
    """IC-7: conv_transpose2d(δ, w) = conv2d_backward(δ, x, w)'s dx, and the transposed layer's
    dx is conv2d(dy, w): the two maps are adjoint, ⟨conv2d(u, w), v⟩ = ⟨u, conv_transpose2d(v, w)⟩."""
    rng = np.random.default_rng(2)
    v, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    v4 = v if v.ndim == 4 else v[None]
    opts = {k: kw[k] for k in ("stride", "padding", "dilation", "groups") if k in kw}
    y = conv_transpose2d(v4, w, None, **kw)
    u = rng.standard_normal(y.shape)  # an input of the convolution that y is the gradient for
    conv = conv2d(u, w, None, **opts)
    # with output_padding ≥ stride the convolution of y's shape has extra rows and columns
    # at the end, that no input of the transposed layer reaches: δ = 0 there
    delta = np.zeros(conv.shape)
    delta[:, :, : v4.shape[2], : v4.shape[3]] = v4
    dx_conv, _, _ = conv2d_backward(delta, u, w, **opts)
    parity("conv_transpose2d = dx of conv2d", y, dx_conv, witness="conv2d_backward")
    parity("adjoint", np.array(np.sum(conv * delta)), np.array(np.sum(u * y)), witness="sums")
    dx_t, _, _ = conv_transpose2d_backward(u, v4, w, **kw)
    parity("dx = conv2d(dy, w)", dx_t, conv[:, :, : v4.shape[2], : v4.shape[3]], witness="conv2d")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(
            lambda: conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((3, 1, 2, 2))),
            ValueError,
            "channel mismatch",
            id="channels",
        ),
        pytest.param(
            lambda: conv_transpose2d(
                np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 2, 2)), stride=2, output_padding=2
            ),
            ValueError,
            "output_padding",
            id="output-padding-too-large",
        ),
        pytest.param(
            lambda: conv_transpose2d(np.zeros((1, 3, 3, 3)), np.zeros((3, 1, 2, 2)), groups=2),
            ValueError,
            "groups=2 must divide",
            id="groups",
        ),
        pytest.param(
            lambda: conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 2, 2)), padding=5),
            ValueError,
            "crops more than",
            id="padding-too-large",
        ),
        pytest.param(
            lambda: conv_transpose2d(np.zeros((2, 3, 3)), np.zeros((2, 1, 2, 2)), stride=0),
            ValueError,
            "stride must be positive",
            id="stride-0",
        ),
        pytest.param(
            lambda: conv_transpose2d(np.zeros((2, 3)), np.zeros((2, 1, 2, 2))),
            ValueError,
            "unbatched",
            id="2-D-input",
        ),
    ],
)
def test_conv_transpose2d_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.torch
@pytest.mark.parametrize(
    ("x_shape", "kw", "output_size"),
    [
        pytest.param((2, 2, 4, 5), {"stride": 2, "padding": 1}, (8, 10), id="s2-p1-hw"),
        pytest.param(
            (1, 2, 3, 3), {"stride": (3, 2), "dilation": 2}, (1, 3, 13, 10), id="s3x2-d2-nchw"
        ),
        pytest.param((2, 3, 3), {"stride": 2}, [8, 7], id="unbatched-list"),
    ],
)
def test_conv_transpose_layer_output_size_matches_torch(x_shape, kw, output_size, parity):
    """ConvTranspose2d.forward(x, output_size): the output_padding torch derives from the
    size asked for, in the forward and in the backward."""
    import torch

    from ref_cnn.nn import ConvTranspose2d

    rng = np.random.default_rng(0)
    c_in = x_shape[-3]
    module = torch.nn.ConvTranspose2d(c_in, 3, 3, **kw).double()
    layer = ConvTranspose2d(c_in, 3, 3, **kw)
    layer.params()["weight"][...] = n(module.weight)
    layer.params()["bias"][...] = n(module.bias)
    x = rng.standard_normal(x_shape)
    xt = t(x).requires_grad_(True)
    yt = module(xt, output_size=output_size)
    y = layer.forward(x, output_size=output_size)
    parity("y", y, n(yt))
    dy = rng.standard_normal(y.shape)
    yt.backward(t(dy))
    parity("dx", layer.backward(dy), n(xt.grad))
    parity("dw", layer.grads()["weight"], n(module.weight.grad))


@pytest.mark.parametrize(
    ("output_size", "match"),
    [
        pytest.param((6, 10), "valid sizes along axis 2 range from 7 to 8", id="too-small"),
        pytest.param((8, 11), "valid sizes along axis 3 range from 9 to 10", id="too-large"),
        pytest.param((1, 8, 10), "must have 2 or 4 elements", id="three-elements"),
    ],
)
def test_conv_transpose_layer_refuses_an_unreachable_output_size(output_size, match):
    from ref_cnn.nn import ConvTranspose2d

    layer = ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match=match):
        layer.forward(np.zeros((1, 2, 4, 5)), output_size=output_size)
