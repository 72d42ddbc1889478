"""Bugs a code review found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import optional

import ref_cnn

torch = optional("torch")
tnn = optional("torch.nn")

PACKAGE = Path(ref_cnn.__file__).resolve().parent


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
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=PACKAGE.parent
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


def test_one_module_named_init():
    """`ref_cnn/functional/init.py` and `ref_cnn/nn/init.py` were two modules of one name."""
    found = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("init.py"))
    assert len(found) <= 1, found


def test_pool_does_not_import_its_limit_from_conv():
    source = (PACKAGE / "functional" / "pool.py").read_text(encoding="utf-8")
    assert "from ref_cnn.functional.conv import" not in source


@pytest.mark.parametrize("scheme", ["torch", "he"])
def test_layers_declare_their_fan_in(scheme):
    """Linear's weight is (out, in): its fan-in is in_features, not out_features. He on a
    Linear(288, 64) must draw N(0, 2/288); torch's default U(±1/√288)."""
    from ref_cnn.nn import initialise

    layer = ref_cnn.nn.Linear(288, 64)
    conv = ref_cnn.nn.Conv2d(16, 32, 3, groups=4)
    assert (layer.fan_in, conv.fan_in) == (288, 4 * 3 * 3)
    initialise(
        ref_cnn.nn.Sequential(conv, ref_cnn.nn.Flatten(), layer), scheme, np.random.default_rng(0)
    )
    w = layer.params()["weight"]  # 18,432 draws
    if scheme == "he":
        assert abs(w.std() - np.sqrt(2 / 288)) < 4 * np.sqrt(2 / 288) / np.sqrt(2 * w.size)
    else:
        assert np.abs(w).max() <= 1 / np.sqrt(288)
        assert abs(w.std() - 1 / np.sqrt(288) / np.sqrt(3)) < 0.002
