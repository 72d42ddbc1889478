"""pad / pad_backward against torch.nn.functional.pad, every mode, negative pads (crops).

[MB-3, IC-11]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn.functional import pad, pad_backward

torch = optional("torch")
tf = optional("torch.nn.functional")

eq = pytest.mark.equation

MODES = ("constant", "reflect", "replicate", "circular")


def _cases(count: int = 24, seed: int = 7):
    """Random shapes and pads per mode, 1 to 3 padded axes, negative entries included."""
    rng = np.random.default_rng(seed)
    out = []
    for mode in MODES:
        for i in range(count):
            k = int(rng.integers(1, 4))
            ndim = k + int(rng.integers(1, 3))
            shape = tuple(int(v) for v in rng.integers(2, 6, ndim))
            pads = tuple(int(v) for v in rng.integers(-1, 3, 2 * k))
            name = f"{mode}-{'x'.join(map(str, shape))}-pad{','.join(map(str, pads))}"
            out.append(pytest.param(mode, shape, pads, id=f"{name}-{i}"))
    return out


CASES = _cases()


def _torch_pad(x, pads, mode, value):
    xt = t(x, True)
    kwargs = {"value": value} if mode == "constant" else {}
    return xt, tf.pad(xt, pads, mode=mode, **kwargs)


@pytest.mark.torch
@pytest.mark.parametrize(("mode", "shape", "pads"), CASES)
@eq("MB-3", "IC-11")
def test_pad_matches_torch(mode, shape, pads, parity):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    value = 1.5 if mode == "constant" else None
    try:
        xt, yt = _torch_pad(x, pads, mode, value)
    except RuntimeError:  # torch refuses (a pad at least the size, for reflect): so do we
        with pytest.raises(ValueError):
            pad(x, pads, mode, value)
        return
    try:
        y = pad(x, pads, mode, value)
    except ValueError as e:
        if mode == "replicate" and yt.numel() == 0 and "at least one element" in str(e):
            return  # torch < 2.14 returns an empty output here; 2.14 refuses, as ref_cnn does
        # the one place ref_cnn refuses what torch runs: a circular pad longer than what a
        # crop leaves of the axis, where torch copies from output it has not written yet
        assert mode == "circular" and "wrap at most once" in str(e)
        return
    parity("y", y, n(yt))
    if y.size == 0:
        return  # torch's gradient of an empty output is unset memory
    dy = rng.standard_normal(y.shape)
    yt.backward(t(dy))
    parity("dx", pad_backward(dy, x, pads, mode), n(xt.grad))


@eq("MB-3")
def test_pad_zero_is_mb3_border(parity):
    """MB-3: (p, p, p, p) puts p rows/columns of zeros on each side of H and W."""
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    expected = np.zeros((1, 1, 4, 5))
    expected[:, :, 1:3, 1:4] = x
    parity("y", pad(x, (1, 1, 1, 1)), expected, witness="hand-written border")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        pytest.param(((1, 2, 3),), "even length", id="odd-length"),
        pytest.param(((1, 1), "wrap"), "mode must be one of", id="unknown-mode"),
        pytest.param(((3, 0), "reflect"), "smaller than", id="reflect-too-wide"),
        pytest.param(((1, 1, 1, 1, 1, 1, 1, 1, 1, 1), "constant"), "pads 5 axes", id="too-many"),
        pytest.param(((1, 1), "reflect", 2.0), "takes no value", id="value-with-reflect"),
        pytest.param(((-4, 0),), "crops more", id="crop-too-much"),
    ],
)
def test_pad_refuses_bad_input(args, match):
    x = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match=match):
        pad(x, *args)


@pytest.mark.torch
def test_pad_refuses_a_non_integer_pad():
    with pytest.raises(TypeError, match="tuple of ints"):
        pad(np.zeros((2, 3)), (1.0, 1.0))
    with torch.no_grad(), pytest.raises(TypeError):
        tf.pad(torch.zeros(2, 3), (1.0, 1.0))
