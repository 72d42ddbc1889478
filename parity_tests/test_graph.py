"""The graph twin (`ref_cnn.nn.graph`): a CNN outside torchvision, built from its torch.fx
graph, against torch: forward, input gradient, every parameter gradient and the running
statistics after the step; the errors that name a graph node; several outputs.
[MB-16, MB-17, MB-18]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t
from twins import check_twin

import ref_cnn
from ref_cnn.nn.graph import GraphTwin, register_glue

torch = optional("torch")
tnn = optional("torch.nn")
tF = optional("torch.nn.functional")
torchvision = optional("torchvision")

eq = pytest.mark.equation
pytestmark = pytest.mark.torch


class Mixer(tnn.Module):
    """A CNN of our own with the graph's hard cases: a module called twice (shared weights
    and BatchNorm statistics), a residual add and a concatenation (fan-out), a tensor read
    by the model's code (a learnt scale, as ConvNeXt's), a channel shuffle (view, transpose,
    contiguous, chunk, getitem), functional pooling and a spatial mean."""

    def __init__(self):
        super().__init__()
        self.stem = tnn.Conv2d(3, 8, 3, padding=1)
        self.shared = tnn.Sequential(tnn.Conv2d(8, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8))
        self.act = tnn.ReLU()
        self.scale = tnn.Parameter(torch.linspace(0.5, 1.5, 8).reshape(1, 8, 1, 1))
        self.head = tnn.Linear(16, 5)

    def forward(self, x):
        x = self.act(self.stem(x))
        y = self.act(self.shared(x) + x)  # MB-16: ψ(z + a)
        y = self.shared(y) * self.scale  # the same conv and BatchNorm, called again
        n_, c, h, w = y.size()
        y = y.view(n_, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n_, c, h, w)
        a, b = y.chunk(2, dim=1)
        z = torch.cat([tF.relu(a), tF.max_pool2d(b, 3, 1, 1)], 1)  # MB-18: channels joined
        z = tF.avg_pool2d(z, 2, ceil_mode=True)
        pooled = torch.cat([z.mean([2, 3]), torch.flatten(tF.adaptive_avg_pool2d(z, 1), 1)], 1)
        return self.head(pooled)


def _mixer():
    torch.manual_seed(0)
    module = Mixer()
    with torch.no_grad():
        bn = module.shared[1]
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
    return module


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@eq("MB-16", "MB-18")
def test_own_cnn_twins_from_its_graph(mode, dtype, parity):
    """In training mode the shared BatchNorm updates its statistics twice, as torch's."""
    module = _mixer()
    twin = ref_cnn.from_torch(module.double())
    assert isinstance(twin, GraphTwin)
    check_twin(module, (2, 3, 9, 7), dtype, parity, mode, rtol={np.float64: 1e-10}.get(dtype))


def test_module_called_twice_gets_two_twins_sharing_parameters():
    twin = ref_cnn.from_torch(_mixer().double())
    first, second = twin._sites["shared.0"]
    assert first is not second and first._params is second._params
    assert sorted(twin.params()) == sorted(k for k, _ in _mixer().named_parameters())
    assert sorted(twin.buffers()) == sorted(k for k, _ in _mixer().named_buffers())


def test_train_eval_and_to_torch_round_trip():
    module = _mixer().double().eval()
    twin = ref_cnn.from_torch(module)
    assert not twin.training and not twin._sites["shared.1"][1].training
    twin.train()
    assert all(s.training for s in twin._sites["shared.1"])
    for p in twin.params().values():
        p *= 2
    target = _mixer().double()
    ref_cnn.to_torch(twin, target)
    for name, p in target.named_parameters():
        np.testing.assert_array_equal(n(p), 2 * n(dict(module.named_parameters())[name]))


class _Erf(tnn.Module):
    def forward(self, x):
        return torch.special.erf(self.conv(x)) if hasattr(self, "conv") else torch.special.erf(x)


class _Lstm(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(1, 2, 3)
        self.rnn = tnn.GRU(4, 4)

    def forward(self, x):
        return self.rnn(self.conv(x).flatten(2))


def test_unsupported_function_and_leaf_name_the_node_and_the_model_code():
    with pytest.raises(
        TypeError,
        match=r"node 'special_erf' \(call_function .*erf\) at .*test_graph\.py:\d+ in forward: return torch\.special\.erf",
    ):
        ref_cnn.from_torch(_Erf())
    with pytest.raises(
        TypeError,
        match=r"node 'rnn' \(call_module rnn\) at .*test_graph\.py.*torch\.nn\.modules\.rnn\.GRU",
    ):
        ref_cnn.from_torch(_Lstm())


def test_register_glue_teaches_a_function(parity):
    """A user's glue pair: erf and its derivative 2/√π·e^(−x²)."""
    from scipy.special import erf

    register_glue(
        torch.special.erf,
        lambda input: erf(input),
        lambda dy, input: dy * 2 / np.sqrt(np.pi) * np.exp(-(input**2)),
    )
    module = _Erf().double()
    twin = ref_cnn.from_torch(module)
    x = np.random.default_rng(0).standard_normal((2, 3))
    xt = t(x, True)
    yt = module(xt)
    dy = np.random.default_rng(1).standard_normal((2, 3))
    yt.backward(t(dy))
    parity("y", twin.forward(x), n(yt))
    parity("dx", twin.backward(dy), n(xt.grad))


@pytest.mark.torchvision
@eq("MB-18")
def test_googlenet_aux_logits_several_outputs(parity):
    """Training mode with aux_logits: torch's GoogLeNetOutputs(logits, aux_logits2,
    aux_logits1), and the backward takes one upstream gradient per output."""
    torch.manual_seed(0)
    module = torchvision.models.googlenet(
        weights=None, num_classes=10, aux_logits=True, init_weights=False
    ).double()
    twin = ref_cnn.from_torch(module)
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64))
    xt = t(x, True)
    with ref_cnn.shared_randomness(module, twin):
        outs_t = module(xt)
        outs = twin.forward(x)
    assert type(outs).__name__ == "GoogLeNetOutputs" and len(outs) == 3
    rng = np.random.default_rng(1)
    dys = [rng.standard_normal(o.shape) for o in outs]
    torch.autograd.backward(list(outs_t), [t(d) for d in dys])
    for name, ours, theirs in zip(outs._fields, outs, outs_t, strict=True):
        parity(name, ours, n(theirs))
    parity("dx", twin.backward(*dys), n(xt.grad))
    grads = twin.grads()
    for name, p in module.named_parameters():
        parity(f"d{name}", grads[name], n(p.grad))
    twin.eval()
    module.eval()
    parity("y eval", twin.forward(x), n(module(t(x))))


@pytest.mark.torchvision
def test_training_command_builds_a_torchvision_model():
    """`python -m ref_cnn train --model torchvision:NAME`: the twin of torchvision's model with
    torch's own start, its first conv found for need_input_grad, MNIST's grey channel fed to
    its three; the torch side starts from the same weights."""
    from ref_cnn.training import models

    twin = models.build("torchvision:squeezenet1_1", seed=3)
    assert isinstance(twin, GraphTwin)
    assert models.first_conv(twin) is twin._sites["features.0"][0]
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28))
    assert models.inputs("torchvision:squeezenet1_1", x).shape == (2, 3, 28, 28)
    module = models.torch_twin("torchvision:squeezenet1_1")
    ref_cnn.to_torch(twin, module)
    module.eval()
    twin.eval()
    y = twin.forward(models.inputs("torchvision:squeezenet1_1", x))
    np.testing.assert_allclose(y, n(module(t(np.repeat(x, 3, axis=1)))), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="no model 'resnet9000'"):
        models.build("torchvision:resnet9000")


@pytest.mark.torchvision
def test_first_conv_looks_inside_a_leaf_that_holds_layers():
    """mobilenet_v2 starts with torchvision's Conv2dNormActivation, one leaf holding conv, batch
    norm and ReLU6: the conv that sees the images is inside it, not the first bare Conv2d site
    (a 1×1 conv deep in the network, which training would have cut off from the gradient)."""
    from ref_cnn.training import models

    twin = models.build("torchvision:mobilenet_v2", seed=0)
    conv = models.first_conv(twin)
    assert conv.params()["weight"].shape[1] == 3
    assert any(m is conv for m in twin._sites["features.0"][0]._all_modules())
