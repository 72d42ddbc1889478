"""Optimizers against torch.optim over 25 steps from the same start [AV-12, IC-13, MB-13]."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn
from ref_cnn import functional as F
from ref_cnn.training import optim

torch = optional("torch")
tnn = optional("torch.nn")

eq = pytest.mark.equation

CONFIGS = [
    pytest.param(
        optim.SGD, torch.optim.SGD, dict(lr=0.1), id="AV-12-plain-gd", marks=eq("AV-12", "IC-13")
    ),
    pytest.param(optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9), id="momentum"),
    pytest.param(
        optim.SGD,
        torch.optim.SGD,
        dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3),
        id="momentum-dampening-wd",
    ),
    pytest.param(
        optim.SGD,
        torch.optim.SGD,
        dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
        id="nesterov-wd",
    ),
    pytest.param(optim.Adam, torch.optim.Adam, dict(lr=1e-2), id="adam"),
    pytest.param(
        optim.Adam,
        torch.optim.Adam,
        dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
        id="adam-wd",
    ),
    pytest.param(optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1), id="adamw"),
]


@pytest.mark.parametrize(("ours_cls", "torch_cls", "kw"), CONFIGS)
@eq("MB-13")
@pytest.mark.torch
def test_parameters_after_every_step_equal_torch(ours_cls, torch_cls, kw, parity):
    """A small conv net trained on a fixed batch with cross-entropy, 25 steps."""
    torch.manual_seed(0)
    module = tnn.Sequential(
        tnn.Conv2d(1, 4, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(36, 3)
    ).double()
    twin = ref_cnn.from_torch(module)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 1, 8, 8)), rng.integers(0, 3, 8)
    opt, topt = ours_cls(twin, **kw), torch_cls(module.parameters(), **kw)
    for _ in range(25):
        logits = twin.forward(x)
        twin.backward(F.cross_entropy_backward(logits, y))  # MB-13: J = (1/m)·Σ L
        opt.step()
        topt.zero_grad()
        tnn.functional.cross_entropy(module(t(x)), torch.tensor(y)).backward()
        topt.step()
        for name, p in module.named_parameters():
            parity(name, twin.params()[name], n(p), rtol=1e-12)


@eq("AV-12", "IC-13")
def test_one_step_is_old_minus_lr_times_gradient():
    twin = ref_cnn.nn.Sequential(ref_cnn.nn.Linear(3, 2, rng=np.random.default_rng(1)))
    x = np.random.default_rng(2).standard_normal((4, 3))
    twin.backward(np.ones((4, 2)) if twin.forward(x) is not None else None)
    before = {k: v.copy() for k, v in twin.params().items()}
    optim.SGD(twin, lr=0.3).step()
    for name, g in twin.grads().items():
        np.testing.assert_array_equal(twin.params()[name], before[name] - 0.3 * g)


def test_bad_optimizer_arguments():
    with pytest.raises(TypeError, match="ref_cnn Module"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="lr must be non-negative"):
        optim.SGD(ref_cnn.nn.Linear(2, 2), lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(ref_cnn.nn.Linear(2, 2), lr=0.1, nesterov=True)
