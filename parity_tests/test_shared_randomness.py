"""`ref_cnn.shared_randomness`: a twin in training mode uses the dropout / spatial-dropout /
stochastic-depth masks torch drew, so that training-mode models compare at float64
rounding: output, input gradient and every parameter gradient against torch.
[SPA-1, SPA-2, SPA-3]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn
from ref_cnn.nn import randomness

torch = optional("torch")
tnn = optional("torch.nn")
tF = optional("torch.nn.functional")
tv_models = optional("torchvision.models")
tv_ops = optional("torchvision.ops")

eq = pytest.mark.equation


def _compare(module, twin, x, parity, calls=1, seed=0):
    """`calls` forward passes of both models inside one shared_randomness block (torch's
    first each time), then y, dx and every parameter gradient of the last against torch."""
    rng = np.random.default_rng(seed)
    with ref_cnn.shared_randomness(module, twin):
        for _ in range(calls):
            xt = t(x, True)
            yt = module(xt)
            y = twin.forward(x)
            parity("y", y, n(yt))
    dy = rng.standard_normal(y.shape)
    for p in module.parameters():
        p.grad = None
    yt.backward(t(dy))
    parity("dx", twin.backward(dy), n(xt.grad))
    grads = twin.grads()
    assert sorted(grads) == sorted(name for name, _ in module.named_parameters())
    for name, p in module.named_parameters():
        parity(f"d{name}", grads[name], n(p.grad))
    return y


def _small_net():
    return tnn.Sequential(
        tnn.Conv2d(3, 6, 3, padding=1),
        tnn.Dropout2d(0.4),
        tnn.ReLU(),
        tnn.Conv2d(6, 4, 3),
        tnn.Dropout(0.3),
        tnn.Flatten(),
        tnn.Linear(4 * 5 * 5, 5),
        tnn.Dropout(0.5),
    )


@pytest.mark.torch
@eq("SPA-1", "SPA-2")
def test_sequential_with_dropout_in_train_mode(parity):
    torch.manual_seed(0)
    module = _small_net().double().train()
    twin = ref_cnn.from_torch(module)
    x = np.random.default_rng(1).standard_normal((4, 3, 7, 7))
    _compare(module, twin, x, parity)


@pytest.mark.torch
@eq("SPA-1")
def test_mask_is_recorded_where_the_input_is_zero(parity):
    """Where x = 0, torch's output is 0 whether the mask keeps or drops; the input gradient
    dy·m/(1 − p) still tells them apart, so the twin must hold the mask itself."""
    torch.manual_seed(2)
    module = tnn.Sequential(tnn.Dropout(0.5)).double().train()
    twin = ref_cnn.from_torch(module)
    x = np.zeros((6, 8))
    y = _compare(module, twin, x, parity)
    assert not y.any()
    kept = twin[0].mask
    assert kept.any() and not kept.all()  # both cases are present at x = 0


@pytest.mark.torch
@eq("SPA-1")
def test_module_called_twice_takes_its_masks_in_order(parity):
    torch.manual_seed(3)
    module = tnn.Sequential(tnn.Linear(5, 5), tnn.Dropout(0.4)).double().train()
    twin = ref_cnn.from_torch(module)
    x = np.random.default_rng(4).standard_normal((3, 5))
    _compare(module, twin, x, parity, calls=3)


@pytest.mark.torch
@pytest.mark.torchvision
@eq("SPA-3")
@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth(mode, parity):
    torch.manual_seed(5)
    module = tnn.Sequential(
        tnn.Conv2d(2, 3, 3), tv_ops.StochasticDepth(0.5, mode), tnn.Tanh()
    ).double()
    twin = ref_cnn.from_torch(module)
    x = np.random.default_rng(6).standard_normal((8, 2, 5, 5))
    _compare(module, twin, x, parity, calls=2)


@pytest.mark.torch
@eq("SPA-1")
def test_functional_dropout_is_recorded_under_the_module_that_calls_it():
    """DenseNet's layers call F.dropout in their own forward: the mask goes to that module."""

    class Block(tnn.Module):
        def forward(self, x):
            return tF.dropout(x, 0.25, self.training)

    module = tnn.Sequential(tnn.Identity(), Block()).train()
    x = torch.ones(4, 50, dtype=torch.float64)
    torch.manual_seed(7)
    with ref_cnn.shared_randomness(module, None) as session:
        y = module(x)
        tF.dropout(x, 0.25, True)  # outside the model's forward: not recorded
    assert list(session.masks) == ["1"]
    (mask,) = session.masks["1"]
    np.testing.assert_array_equal(n(y), np.where(mask, 1 / 0.75, 0.0))
    assert tF.dropout is torch.nn.functional.dropout  # restored on exit


@pytest.mark.torch
@pytest.mark.torchvision
@eq("SPA-1")
def test_googlenet_in_training_mode(parity):
    """torchvision's GoogLeNet (dropout 0.2 before its classifier) at 1e-10 in training mode:
    without the shared mask its logits differ from torch's by ~80 %."""
    torch.manual_seed(8)
    module = tv_models.googlenet(weights=None, aux_logits=False, num_classes=10, init_weights=False)
    module = module.double().train()
    twin = ref_cnn.from_torch(module)
    x = np.random.default_rng(9).standard_normal((2, 3, 32, 32))
    _compare(module, twin, x, parity)


@pytest.mark.torch
def test_twin_without_torch_masks_raises():
    module = tnn.Sequential(tnn.Dropout(0.5)).double().train()
    twin = ref_cnn.from_torch(module)
    with ref_cnn.shared_randomness(module, twin):
        with pytest.raises(RuntimeError, match="run the torch model on the batch first"):
            twin.forward(np.ones((2, 3)))
        module(torch.ones(2, 4, dtype=torch.float64))
        with pytest.raises(ValueError, match="feed both models the same input"):
            twin.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="which the torch model does not have"):
        with ref_cnn.shared_randomness(tnn.ReLU(), twin):
            pass
    with pytest.raises(RuntimeError, match="has no torch module name"):
        with ref_cnn.shared_randomness(module, twin):
            ref_cnn.nn.Dropout(0.5).forward(np.ones(3))


def test_outside_the_context_masks_come_from_a_seeded_generator():
    """Without shared_randomness a twin draws from its own `rng`, else from ref_cnn's default
    generator, which `ref_cnn.functional.manual_seed` seeds."""
    x = np.ones((10, 10))
    layer = ref_cnn.nn.Dropout(0.5)
    ref_cnn.functional.manual_seed(11)
    first = layer.forward(x)
    ref_cnn.functional.manual_seed(11)
    np.testing.assert_array_equal(layer.forward(x), first)
    own = [ref_cnn.nn.Dropout(0.5, rng=np.random.default_rng(12)).forward(x) for _ in range(2)]
    np.testing.assert_array_equal(own[0], own[1])
    assert randomness.take(layer, x.shape) is None  # no block open: the layer draws its own
