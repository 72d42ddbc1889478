"""`from_torch` twins of torch stacks: forward, input gradient and every parameter
gradient, with torch's names. [MB-9, MB-11, MB-12, AV-7]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import n, optional, t
from twins import check_twin

import ref_cnn
from ref_cnn import functional as F
from ref_cnn.training import models

torch = optional("torch")
tnn = optional("torch.nn")

eq = pytest.mark.equation


def lenet():
    return models.torch_twin("lenet")  # MB-12: [conv → ReLU → pool] × 2 → three dense layers


STACKS = [
    pytest.param(lenet, (3, 1, 28, 28), id="MB-12-lenet"),
    pytest.param(
        lambda: tnn.Sequential(
            tnn.Conv2d(1, 3, 5, bias=False),
            tnn.Sigmoid(),
            tnn.Flatten(),
            tnn.Linear(1728, 1),
            tnn.Sigmoid(),
        ),
        (4, 1, 28, 28),
        id="AV-7-article-network",
    ),
    pytest.param(
        lambda: tnn.Sequential(
            tnn.Conv2d(3, 8, 3, stride=2, padding=1),
            tnn.Tanh(),
            tnn.AvgPool2d(3, 2, 1, ceil_mode=True),
            tnn.Conv2d(8, 8, 3, padding="same", groups=4),
            tnn.LeakyReLU(0.1),
            tnn.MaxPool2d(3, 2, 1, dilation=1, ceil_mode=True),
            tnn.AdaptiveAvgPool2d((3, 2)),
            tnn.Flatten(),
            tnn.Linear(48, 5),
            tnn.Softmax(dim=1),
        ),
        (2, 3, 17, 15),
        id="mixed-stride-groups-ceil-adaptive-softmax",
    ),
    pytest.param(
        lambda: tnn.Sequential(
            tnn.Sequential(tnn.Conv2d(2, 4, (3, 2), dilation=2), tnn.ReLU()),
            tnn.Dropout(0.3),
            tnn.AdaptiveAvgPool2d(1),
            tnn.Flatten(),
            tnn.Linear(4, 3, bias=False),
            tnn.Identity(),
        ),
        (3, 2, 12, 10),
        id="nested-dilated-dropout-eval",
    ),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("build", "shape"), STACKS)
@eq("MB-9", "MB-11", "MB-12", "AV-7")
@pytest.mark.torch
def test_twin_matches_torch_forward_and_every_gradient(build, shape, dtype, parity):
    torch.manual_seed(0)
    if dtype == np.float32:  # through ReLU and max-pool: compared by the rule of kinks.py
        check_twin(build(), shape, dtype, parity, "eval")
        return
    module = build().to(torch.float64 if dtype == np.float64 else torch.float32).eval()
    twin = ref_cnn.from_torch(module, dtype=dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    xt = t(x, True)
    yt = module(xt)
    y = twin.forward(x)
    parity("y", y, n(yt))
    dy = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(t(dy))
    parity("dx", twin.backward(dy), n(xt.grad))
    grads = twin.grads()
    named = dict(module.named_parameters())
    assert sorted(grads) == sorted(named)  # the same names as torch
    for name, p in named.items():
        parity(f"d{name}", grads[name], n(p.grad))


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
@pytest.mark.torch
def test_first_layer_without_input_grad_matches_torch_input_without_grad(padding_mode, parity):
    """need_input_grad = False: the parameter gradients of torch's stack run on an input that
    needs no gradient, and backward returns None."""
    torch.manual_seed(0)
    module = tnn.Sequential(
        tnn.Conv2d(2, 4, 3, padding=1, padding_mode=padding_mode), tnn.ReLU(), tnn.Conv2d(4, 3, 3)
    ).double()
    twin = ref_cnn.from_torch(module)
    twin[0].need_input_grad = False
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 6))
    yt = module(t(x))  # an input without requires_grad: torch computes no dx
    dy = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yt.backward(t(dy))
    parity("y", twin.forward(x), n(yt))
    assert twin.backward(dy) is None
    for name, p in module.named_parameters():
        parity(f"d{name}", twin.grads()[name], n(p.grad))


@pytest.mark.parametrize("size", [1, 3, (2, 5), (7, 4)], ids=["1", "3", "2x5", "7x4-upsample-rows"])
@pytest.mark.torch
def test_adaptive_avg_pool_matches_torch(size, parity):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 10))
    xt = t(x, True)
    yt = tnn.functional.adaptive_avg_pool2d(xt, size)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(t(dy))
    parity("y", F.adaptive_avg_pool2d(x, size), n(yt))
    parity("dx", F.adaptive_avg_pool2d_backward(dy, x, size), n(xt.grad))


@pytest.mark.torch
def test_dropout_train_mask_and_eval_identity():
    layer = ref_cnn.nn.Dropout(0.25, rng=np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((200, 50))
    y = layer.forward(x)
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01  # 10 000 draws: within ~2.3 standard errors
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    dy = np.random.default_rng(5).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(dy), dy * (layer.mask / 0.75))
    same = ref_cnn.nn.Dropout(0.25, rng=np.random.default_rng(3)).forward(x)
    np.testing.assert_array_equal(same, y)  # same seed, same mask
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.forward(x), n(tnn.Dropout(0.25).eval()(t(x))))


@pytest.mark.torch
def test_unsupported_module_names_itself():
    module = tnn.Sequential(tnn.Conv2d(1, 2, 3), tnn.GRU(4, 4))
    with pytest.raises(TypeError, match=r"model\.1 of type torch\.nn\.modules\.rnn\.GRU"):
        ref_cnn.from_torch(module)


@pytest.mark.torch
def test_train_eval_follow_torch_and_to_torch_round_trip():
    module = lenet().double()
    twin = ref_cnn.from_torch(module)
    assert twin.training and twin[0].training
    twin.eval()
    assert not twin[11].training
    for p in twin.params().values():
        p *= 2  # change the twin, then write it back
    target = lenet().double()
    ref_cnn.to_torch(twin, target)
    for name, p in target.named_parameters():
        np.testing.assert_array_equal(n(p), 2 * n(dict(module.named_parameters())[name]))
    with pytest.raises(ValueError, match=r"no tensors named \['11.bias'"):
        ref_cnn.to_torch(twin, tnn.Sequential(tnn.Conv2d(1, 6, 5)))
    wrong = lenet().double()
    wrong[0] = tnn.Conv2d(1, 6, 3, padding=2).double()
    with pytest.raises(
        ValueError, match=r"0.weight: shape \(6, 1, 5, 5\) != torch's \(6, 1, 3, 3\)"
    ):
        ref_cnn.to_torch(twin, wrong)


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="before forward"):
        ref_cnn.nn.Conv2d(1, 1, 3).backward(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize("scheme", ["torch", "uniform01", "he"])
@eq("IC-12")
def test_initialisation_schemes(scheme):
    """torch's default U(±1/√fan_in), AV's U[0, 1), He N(0, 2/fan_in): statistics of the draws."""
    from ref_cnn.nn import initialise

    model = ref_cnn.nn.Sequential(
        ref_cnn.nn.Conv2d(16, 32, 3), ref_cnn.nn.Flatten(), ref_cnn.nn.Linear(288, 64)
    )
    initialise(model, scheme, np.random.default_rng(0))
    w = model.params()["0.weight"]  # fan_in = 16·3·3 = 144, 4608 draws
    if scheme == "torch":
        assert np.abs(w).max() <= 1 / 12 and abs(w.std() - 1 / 12 / np.sqrt(3)) < 0.002
        assert np.abs(model.params()["0.bias"]).max() <= 1 / 12
    elif scheme == "uniform01":
        assert w.min() >= 0 and w.max() < 1 and abs(w.mean() - 0.5) < 0.02
        assert not model.params()["0.bias"].any()
    else:
        assert abs(w.std() - np.sqrt(2 / 144)) < 4 * np.sqrt(2 / 144) / np.sqrt(2 * w.size)
        assert not model.params()["2.bias"].any()
    with pytest.raises(ValueError, match="scheme must be one of"):
        initialise(model, "xavier")


@pytest.mark.torch
def test_register_converter_before_the_first_from_torch_keeps_the_built_ins():
    """A user's converter registered first must not stop the built-in ones from loading
    (fresh interpreter: nothing converted yet), and must win over a built-in one."""
    script = """
import numpy as np, torch.nn as tnn, ref_cnn
from ref_cnn.nn.convert import register_converter

class Twice(tnn.Module):
    def forward(self, x):
        return 2 * x

class TwiceTwin(ref_cnn.nn.Module):
    def forward(self, x):
        return 2 * x
    def backward(self, dy):
        return 2 * dy

@register_converter(Twice)
def _twice(m, child, dtype):
    return TwiceTwin()

@register_converter(tnn.ReLU)
def _my_relu(m, child, dtype):
    return TwiceTwin()

twin = ref_cnn.from_torch(tnn.Sequential(tnn.Conv2d(1, 2, 3), Twice(), tnn.ReLU()))
x = np.random.default_rng(0).standard_normal((1, 1, 5, 5))
print(type(twin[0]).__name__, type(twin[1]).__name__, type(twin[2]).__name__)
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(ref_cnn.__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["Conv2d", "TwiceTwin", "TwiceTwin"]


@pytest.mark.torch
def test_to_torch_refuses_a_module_with_parameters_the_twin_lacks():
    twin = ref_cnn.nn.Sequential(ref_cnn.nn.Conv2d(1, 2, 3, bias=False))
    target = tnn.Sequential(tnn.Conv2d(1, 2, 3), tnn.Linear(2, 2)).double()
    with pytest.raises(
        ValueError, match=r"twin has no tensors named \['0.bias', '1.bias', '1.weight'\]"
    ):
        ref_cnn.to_torch(twin, target)
