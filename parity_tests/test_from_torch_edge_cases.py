"""Edge cases of the original module twins found by torch's ModuleInfo samples: BatchNorm2d
without β (`bias=False`) or without γ and β (`affine=False`), BatchNorm2d on an empty batch
in training mode, Tanh/Sigmoid on a 0-d input, AdaptiveAvgPool2d with a None output size.
Forward, input gradient, every parameter gradient and the running statistics against torch,
float64. [MB-17]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn

torch = optional("torch")
tnn = optional("torch.nn")

eq = pytest.mark.equation


def _step(module, x, parity, seed=0):
    """One forward and backward through torch and the twin; compares y, dx, every parameter
    gradient and every buffer afterwards."""
    twin = ref_cnn.from_torch(module)
    xt = t(x, True)
    yt = module(xt)
    y = twin.forward(x)
    assert isinstance(y, np.ndarray)
    parity("y", y, n(yt))
    dy = np.asarray(np.random.default_rng(seed).standard_normal(y.shape))
    yt.backward(t(dy))
    dx = twin.backward(dy)
    assert isinstance(dx, np.ndarray)
    parity("dx", dx, n(xt.grad))
    grads, named = twin.grads(), dict(module.named_parameters())
    assert sorted(grads) == sorted(named)
    for name, p in named.items():
        parity(f"d{name}", grads[name], n(p.grad))
    buffers = twin.buffers()
    assert sorted(buffers) == sorted(dict(module.named_buffers()))
    for name, b in module.named_buffers():
        np.testing.assert_allclose(buffers[name], n(b), rtol=1e-12, atol=0, err_msg=name)
    return twin


BATCHNORMS = {
    "bias-false": lambda: tnn.BatchNorm2d(3, bias=False),
    "affine-false": lambda: tnn.BatchNorm2d(3, 1e-3, 0.8, False),
    "not-tracking": lambda: tnn.BatchNorm2d(3, track_running_stats=False),
}


@pytest.mark.torch
@eq("MB-17")
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("build", BATCHNORMS.values(), ids=BATCHNORMS.keys())
def test_batchnorm_variants_twin(build, training, parity):
    module = build().double().train(training)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    twin = _step(module, x, parity)
    assert ("bias" in twin.params()) == (module.bias is not None)


@pytest.mark.torch
@eq("MB-17")
@pytest.mark.parametrize("shape", [(0, 5, 2, 2), (2, 5, 0, 0)], ids=["N0", "H0-W0"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "not-affine"])
def test_batchnorm_empty_batch_in_training(shape, affine, parity):
    """torch returns an empty result, zero parameter gradients, and leaves the running
    statistics as they were while counting the batch in num_batches_tracked."""
    module = tnn.BatchNorm2d(5, 1e-3, 0.3, affine).double().train()
    with torch.no_grad():
        module.running_mean.uniform_(-1, 1)
        module.running_var.uniform_(1, 2)
    twin = _step(module, np.zeros(shape), parity)
    assert int(twin.buffers()["num_batches_tracked"]) == 1


@pytest.mark.torch
@pytest.mark.parametrize(
    "build", [lambda: tnn.Tanh(), lambda: tnn.Sigmoid()], ids=["Tanh", "Sigmoid"]
)
def test_activation_twin_on_0d_input(build, parity):
    _step(build(), np.asarray(0.7), parity)


@pytest.mark.torch
@eq("MB-8")
@pytest.mark.parametrize("size", [(None, 3), (2, None)], ids=["None-3", "2-None"])
def test_adaptive_avg_pool_with_none_output_size(size, parity):
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 7))
    _step(tnn.AdaptiveAvgPool2d(size), x, parity)
