"""`from_torch` twins of the modules modern CNNs use (normalisation, activations, padding,
spatial, reshaping, torchvision's blocks), in training and eval mode: output, input gradient
(random upstream gradient), every parameter gradient and every buffer after the step
against torch, float64 at 1e-10. Random modules run inside `shared_randomness`.

Two input gradients have a second torch witness (`EXACT_CONSTANT`): torch's float64
autograd rounds a constant to float32 there, Hardsigmoid's 1/6 (1.0f/6.0f) and CELU's 1/α
(derivatives.yaml: 1.0/alpha.toFloat()). ref_cnn's dx is compared at 1e-10 with torch's
gradient for the exact constant (the autograd result rescaled by 1/6 over 1.0f/6.0f, and
torch's own elu_backward kernel given 1/α in float64), and torch's autograd is held to the
error of its constant.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn

torch = optional("torch")
tnn = optional("torch.nn")
tv_ops = optional("torchvision.ops")

eq = pytest.mark.equation
tv = pytest.mark.torchvision

X4 = (2, 6, 5, 7)  # N, C, H, W: C divisible by 2 and 3, H ≠ W

# id: (torch module factory, input shape, marks); built lazily so collection needs no torch
CASES = {
    "LayerNorm-CHW": (lambda: tnn.LayerNorm((6, 5, 7)), X4, []),
    "LayerNorm-W-no-bias": (lambda: tnn.LayerNorm(7, eps=1e-3, bias=False), X4, []),
    "LayerNorm-no-affine": (lambda: tnn.LayerNorm(7, elementwise_affine=False), X4, []),
    "RMSNorm-HW": (lambda: tnn.RMSNorm((5, 7)), X4, []),
    "RMSNorm-eps-no-affine": (lambda: tnn.RMSNorm(7, 1e-3, elementwise_affine=False), X4, []),
    "GroupNorm-3-groups": (lambda: tnn.GroupNorm(3, 6), X4, []),
    "GroupNorm-no-affine": (lambda: tnn.GroupNorm(2, 6, affine=False), X4, []),
    "InstanceNorm2d": (lambda: tnn.InstanceNorm2d(6), X4, []),
    "InstanceNorm2d-affine-tracking": (
        lambda: tnn.InstanceNorm2d(6, momentum=0.3, affine=True, track_running_stats=True),
        X4,
        [],
    ),
    "InstanceNorm2d-unbatched": (lambda: tnn.InstanceNorm2d(6, affine=True), X4[1:], []),
    "LocalResponseNorm": (lambda: tnn.LocalResponseNorm(3, 1e-2, 0.6, 1.5), X4, []),
    "ReLU6": (lambda: tnn.ReLU6(), X4, []),
    "Hardswish": (lambda: tnn.Hardswish(), X4, []),
    "Hardsigmoid": (lambda: tnn.Hardsigmoid(), X4, []),
    "SiLU": (lambda: tnn.SiLU(), X4, []),
    "GELU": (lambda: tnn.GELU(), X4, []),
    "GELU-tanh": (lambda: tnn.GELU("tanh"), X4, []),
    "ELU": (lambda: tnn.ELU(0.7), X4, []),
    "SELU": (lambda: tnn.SELU(), X4, []),
    "CELU": (lambda: tnn.CELU(1.3), X4, []),
    "Hardtanh": (lambda: tnn.Hardtanh(-0.5, 0.8), X4, []),
    "Softplus": (lambda: tnn.Softplus(2.0, 1.5), X4, []),
    "Mish": (lambda: tnn.Mish(), X4, []),
    "PReLU-1": (lambda: tnn.PReLU(), X4, []),
    "PReLU-per-channel": (lambda: tnn.PReLU(6, init=0.1), X4, []),
    "LogSoftmax": (lambda: tnn.LogSoftmax(1), X4, []),
    "LogSoftmax-dim-None-3d": (  # torch's legacy implicit dim (it warns)
        lambda: tnn.LogSoftmax(),
        X4[1:],
        [pytest.mark.filterwarnings("ignore:Implicit dimension choice")],
    ),
    "Softmax-dim-None-3d": (
        lambda: tnn.Softmax(),
        X4[1:],
        [pytest.mark.filterwarnings("ignore:Implicit dimension choice")],
    ),
    "Softmax-dim-None-1d": (
        lambda: tnn.Softmax(),
        (7,),
        [pytest.mark.filterwarnings("ignore:Implicit dimension choice")],
    ),
    "LogSigmoid": (lambda: tnn.LogSigmoid(), X4, []),
    "Softsign": (lambda: tnn.Softsign(), X4, []),
    "GLU": (lambda: tnn.GLU(1), X4, []),
    "Softmax2d": (lambda: tnn.Softmax2d(), X4, []),
    "ZeroPad2d": (lambda: tnn.ZeroPad2d((1, 2, 0, 3)), X4, []),
    "ConstantPad2d-crop": (lambda: tnn.ConstantPad2d((2, -1, 1, 0), 0.5), X4, []),
    "ReflectionPad2d": (lambda: tnn.ReflectionPad2d((2, 1, 3, 0)), X4, []),
    "ReplicationPad2d": (lambda: tnn.ReplicationPad2d(2), X4, []),
    "CircularPad2d": (lambda: tnn.CircularPad2d((1, 2, 2, 1)), X4, []),
    "LPPool2d-p2": (lambda: tnn.LPPool2d(2, (2, 3), stride=(1, 2)), X4, []),
    "LPPool2d-p3-ceil": (lambda: tnn.LPPool2d(3, 2, ceil_mode=True), X4, []),
    "PixelShuffle": (lambda: tnn.PixelShuffle(2), (2, 8, 3, 4), []),
    "PixelUnshuffle": (lambda: tnn.PixelUnshuffle(2), (2, 3, 4, 6), []),
    "ChannelShuffle": (lambda: tnn.ChannelShuffle(3), X4, []),
    "Upsample-nearest-x2": (lambda: tnn.Upsample(scale_factor=2), X4, []),
    "Upsample-nearest-size": (lambda: tnn.Upsample(size=(7, 4)), X4, []),
    "Upsample-bilinear": (lambda: tnn.Upsample(scale_factor=1.5, mode="bilinear"), X4, []),
    "Upsample-bilinear-corners": (
        lambda: tnn.Upsample(size=(9, 11), mode="bilinear", align_corners=True),
        X4,
        [],
    ),
    "Upsample-nearest-exact": (lambda: tnn.Upsample(size=(8, 5), mode="nearest-exact"), X4, []),
    "Upsample-linear-1d": (lambda: tnn.Upsample(scale_factor=1.7, mode="linear"), X4[1:], []),
    "Upsample-trilinear": (lambda: tnn.Upsample(size=(3, 4, 6), mode="trilinear"), (1, *X4), []),
    "UpsamplingBilinear2d": (lambda: tnn.UpsamplingBilinear2d(scale_factor=2), X4, []),
    "Dropout2d": (lambda: tnn.Dropout2d(0.4), X4, []),
    "Flatten-1-2": (lambda: tnn.Flatten(1, 2), X4, []),
    "Flatten-0-last": (lambda: tnn.Flatten(0, -1), X4, []),
    "Unflatten": (lambda: tnn.Unflatten(1, (2, 3)), X4, []),
    "Permute": (lambda: tv_ops.Permute([0, 2, 3, 1]), X4, [tv]),
    "StochasticDepth-row": (lambda: tv_ops.StochasticDepth(0.5, "row"), X4, [tv]),
    "SqueezeExcitation": (lambda: tv_ops.SqueezeExcitation(6, 3), X4, [tv]),
    "Conv2dNormActivation": (
        lambda: tv_ops.Conv2dNormActivation(6, 4, 3, activation_layer=tnn.Hardswish),
        X4,
        [tv],
    ),
}


TORCH_SIXTH = float(np.float32(1 / 6))  # torch's 1.0f/6.0f


def _hardsigmoid_exact(module, xt, dyt, autograd):
    """(dx for the exact 1/6, torch's relative error from its float32 constant)."""
    return autograd / TORCH_SIXTH / 6, abs(6 * TORCH_SIXTH - 1)


def _celu_exact(module, xt, dyt, autograd):
    """(dx for the exact 1/α from torch's elu_backward kernel, torch's relative error:
    its 1/α and the exponent's argument x/α both carry α's float32 rounding)."""
    alpha = module.alpha
    exact = n(torch.ops.aten.elu_backward(dyt, alpha, 1, 1 / alpha, False, xt.detach()))
    rounding = abs(alpha / float(np.float32(alpha)) - 1)
    return exact, rounding * (1 + float(abs(n(xt)).max()) / alpha)


EXACT_CONSTANT = {tnn.Hardsigmoid: _hardsigmoid_exact, tnn.CELU: _celu_exact}


def step(module, x, parity, seed=0):
    """One training step's forward and backward through torch and the twin (inside
    shared_randomness): y, dx, every parameter gradient and every buffer after it."""
    twin = ref_cnn.from_torch(module)
    xt = t(x, True)
    with ref_cnn.shared_randomness(module, twin):
        yt = module(xt)
        y = twin.forward(x)
    parity("y", y, n(yt))
    dy = np.random.default_rng(seed).standard_normal(y.shape)
    yt.backward(t(dy))
    dx = twin.backward(dy)
    exact = EXACT_CONSTANT.get(type(module))
    if exact is None:
        parity("dx", dx, n(xt.grad))
    else:  # torch's autograd rounds a constant to float32: see the module docstring
        reference, torch_error = exact(module, xt, t(dy), n(xt.grad))
        parity("dx", dx, reference, witness="torch with the exact constant")
        parity("dx", dx, n(xt.grad), rtol=1.01 * torch_error)
    grads, named = twin.grads(), dict(module.named_parameters())
    assert sorted(grads) == sorted(named)  # torch's names
    for name, p in named.items():
        parity(f"d{name}", grads[name], n(p.grad))
    buffers, theirs = twin.buffers(), dict(module.named_buffers())
    assert sorted(buffers) == sorted(theirs)
    for name, b in theirs.items():
        if b.is_floating_point():
            parity(name, buffers[name], n(b))
        else:
            np.testing.assert_array_equal(buffers[name], n(b), err_msg=name)


def _perturbed(module):
    """Parameters and running statistics away from their initial 1s and 0s, so that a
    swapped γ/β or mean/var cannot pass."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.rand(p.shape, generator=g, dtype=p.dtype) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 1.5, generator=g)
            elif name.endswith("running_mean"):
                b.uniform_(-0.5, 0.5, generator=g)
    return module


@pytest.mark.torch
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("build", "shape"),
    [pytest.param(b, s, id=k, marks=m) for k, (b, s, m) in CASES.items()],
)
def test_twin_matches_torch(build, shape, training, parity):
    torch.manual_seed(0)
    module = _perturbed(build().double()).train(training)
    x = np.random.default_rng(2).standard_normal(shape)
    step(module, x, parity)


@pytest.mark.torch
def test_upsample_refuses_other_modes():
    with pytest.raises(TypeError, match="mode='bicubic' is not supported .these are: nearest"):
        ref_cnn.from_torch(tnn.Upsample(scale_factor=2, mode="bicubic"))


@pytest.mark.torch
def test_every_listed_type_twins():
    """Every module type of issue 23's list has a converter."""
    names = (
        "LayerNorm RMSNorm GroupNorm InstanceNorm2d LocalResponseNorm ReLU6 Hardswish Hardsigmoid "
        "SiLU GELU ELU SELU CELU Hardtanh Softplus Mish PReLU LogSoftmax ZeroPad2d "
        "ConstantPad2d ReflectionPad2d ReplicationPad2d CircularPad2d Softmax2d LPPool2d "
        "Dropout2d PixelShuffle ChannelShuffle Upsample Flatten Unflatten"
    ).split()
    from ref_cnn.nn.convert import _builders

    have = {t.__name__ for t in _builders()}
    assert not [name for name in names if name not in have]


@pytest.mark.torch
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("build", "shape"),
    [pytest.param(b, s, id=f"f32-{k}", marks=m) for k, (b, s, m) in CASES.items()],
)
def test_float32_twin_against_float64_torch(build, shape, training, parity):
    """The suite's float32 rule: a float32 twin against torch in float64 on the same values
    (input and parameters rounded to float32 first), to conftest's float32 bound; random
    modules take torch's masks through shared_randomness as in float64."""
    torch.manual_seed(0)
    module = _perturbed(build().double()).train(training)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.float().double())
        for b in module.buffers():
            if b.is_floating_point():
                b.copy_(b.float().double())
    twin = ref_cnn.from_torch(module, dtype=np.float32)
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    xt = t(x.astype(np.float64), True)
    with ref_cnn.shared_randomness(module, twin):
        yt = module(xt)
        y = twin.forward(x)
    assert y.dtype == np.float32
    parity("y", y, n(yt).astype(np.float32))
    dy = np.random.default_rng(3).standard_normal(y.shape).astype(np.float32)
    yt.backward(t(dy.astype(np.float64)))
    parity("dx", twin.backward(dy), n(xt.grad).astype(np.float32))
    grads = twin.grads()
    for name, p in module.named_parameters():
        parity(f"d{name}", grads[name], n(p.grad).astype(np.float32))
    buffers = twin.buffers()
    for name, b in module.named_buffers():
        if b.is_floating_point():
            parity(name, buffers[name], n(b).astype(np.float32))
