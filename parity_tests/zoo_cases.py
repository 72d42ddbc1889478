"""torchvision's classification zoo twinned by `from_torch` (the graph twin) against torch:
the models, how each is built, and one measured comparison (`measure`), shared by
parity_tests/test_zoo.py and scripts/zoo.py.

Each model: weights=None, num_classes=10, torch's default initialisation, BatchNorm γ, β
and running statistics drawn at random (eval mode is then no identity). Training mode
runs dropout and stochastic depth with torch's masks (`ref_cnn.shared_randomness`).

The float64 reference is torch's float64 run, with one change: torch's CPU Hardsigmoid
backward multiplies by 1/6 rounded to float32 (0.1666666716…, 3·10⁻⁸ from 1/6) in float64
too (ACT-3's note), so the reference model computes Hardsigmoid as relu6(x + 3)/6, the same
function with the exact derivative (`exact_hardsigmoid`); the twin converts the model as it is.
Each float64 bound is 1e-10 or ten times torch's own spread between its contiguous and
channels-last runs (`twins.check_twin(torch_spread=True)`), whichever is larger.
"""

from __future__ import annotations

import importlib
import time

import numpy as np
from helpers import RTOL, optional, t
from twins import check_twin

import ref_cnn
from ref_cnn._metric import compare

torch = optional("torch")
torchvision = optional("torchvision")

# name → (extra keyword arguments, input side, why that differs from the defaults)
MODELS: dict[str, tuple[dict, int, str]] = {
    "alexnet": ({}, 64, ""),
    "vgg11": ({}, 64, ""),
    "vgg11_bn": ({}, 64, ""),
    "resnet18": ({}, 64, ""),
    "resnet50": ({}, 64, ""),
    "resnext50_32x4d": ({}, 64, ""),
    "wide_resnet50_2": ({}, 64, ""),
    "googlenet": (
        {"aux_logits": True, "init_weights": False},
        64,
        "aux_logits=True (three outputs in training mode); torch's default initialisation "
        "(GoogLeNet's own N(0, 0.01²) leaves an input gradient of ~1e-12)",
    ),
    "inception_v3": (
        {"aux_logits": False, "init_weights": False},
        75,
        "75×75, its smallest input; aux_logits=False: the aux head's 5×5 conv needs a "
        "17×17 Mixed_6e map, i.e. a 299×299 input (parity_tests/test_zoo.py checks the aux "
        "head there, in training mode)",
    ),
    "densenet121": ({}, 64, ""),
    "squeezenet1_0": ({}, 64, ""),
    "squeezenet1_1": ({}, 64, ""),
    "mobilenet_v2": ({}, 64, ""),
    "mobilenet_v3_small": ({}, 64, ""),
    "mnasnet0_5": ({}, 64, ""),
    "shufflenet_v2_x0_5": ({}, 64, ""),
    "efficientnet_b0": ({}, 64, ""),
    "efficientnet_v2_s": ({}, 64, ""),
    "regnet_x_400mf": ({}, 64, ""),
    "regnet_y_400mf": ({}, 64, ""),
    "convnext_tiny": ({}, 64, ""),
}
DEEP_RTOL = {np.float64: 1e-10, np.float32: 1e-4}  # float32: BatchNorm's 1/σ at every layer


def _relu6_over_6(x):
    return torch.nn.functional.relu6(x + 3) / 6


def exact_hardsigmoid(model):
    """Every nn.Hardsigmoid of `model` runs as relu6(x + 3)/6 (its type, so its twin, stays)."""
    for m in model.modules():
        if type(m) is torch.nn.Hardsigmoid:
            m.forward = _relu6_over_6
    return model


def _convnext_mini():
    """torchvision's ConvNeXt classes (CNBlock, LayerNorm2d, layer scale, stochastic depth)
    at 8–64 channels, one block per stage: the CI subset's ConvNeXt."""
    convnext = importlib.import_module("torchvision.models.convnext")
    stages = [(8, 16), (16, 32), (32, 64), (64, None)]
    setting = [convnext.CNBlockConfig(c, out, 1) for c, out in stages]
    return convnext.ConvNeXt(setting, stochastic_depth_prob=0.2, num_classes=10)


# smaller models of the zoo's classes, for the CI subset
SMALL = {"convnext_mini": _convnext_mini}


def build(name: str, seed: int = 0):
    """The torchvision model, float64, BatchNorm randomised (seeded)."""
    torch.manual_seed(seed)
    if name in SMALL:
        model = SMALL[name]().double()
    else:
        extra = MODELS[name][0]
        model = getattr(torchvision.models, name)(weights=None, num_classes=10, **extra).double()
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                if m.affine:
                    m.weight.uniform_(0.5, 1.5, generator=g)
                    m.bias.uniform_(-0.5, 0.5, generator=g)
                if m.track_running_stats:
                    m.running_mean.uniform_(-0.3, 0.3, generator=g)
                    m.running_var.uniform_(0.5, 2.0, generator=g)
    return model


class Recorder:
    """A `parity` that records every quantity's relative error and bound; `worst` and `ok`."""

    def __init__(self):
        self.rows: list[tuple[str, float, float]] = []

    def __call__(self, quantity, ours, reference, rtol=None, witness="torch"):
        ours, reference = np.asarray(ours), np.asarray(reference)
        bound = RTOL[ours.dtype] if rtol is None else rtol
        ok = ours.shape == reference.shape and compare(ours, reference).ok(bound)
        rel = compare(ours, reference).rel_err if ours.shape == reference.shape else np.inf
        self.rows.append((quantity, rel, bound, ok))

    @property
    def worst(self) -> tuple[str, float]:
        """(quantity, relative error) of the largest error."""
        q, rel, *_ = max(self.rows, key=lambda r: r[1])
        return q, rel

    @property
    def raised(self) -> list[tuple[str, float, float]]:
        """(quantity, error, bound) where torch's own spread raised the bound."""
        return [(q, rel, b) for q, rel, b, _ in self.rows if b > min(r[2] for r in self.rows)]

    def worst_within(self, floor: float) -> tuple[str, float]:
        """(quantity, error) of the largest error among those bounded by `floor` itself."""
        rows = [r for r in self.rows if r[2] <= floor] or self.rows
        q, rel, *_ = max(rows, key=lambda r: r[1])
        return q, rel

    @property
    def failed(self) -> list[str]:
        """The quantities over their bound."""
        return [f"{q} {rel:.1e} > {b:.0e}" for q, rel, b, ok in self.rows if not ok]


def measure(name, mode, dtype, side=None, batch=2, seed=0, parity=None):
    """check_twin on one model; returns the Recorder (or asserts, with a test's `parity`)."""
    side = side or MODELS[name][1]
    recorder = parity if parity is not None else Recorder()
    check_twin(
        exact_hardsigmoid(build(name, seed)),
        (batch, 3, side, side),
        dtype,
        recorder,
        mode,
        rtol=DEEP_RTOL[dtype],
        torch_spread=dtype == np.float64,
    )
    return recorder


def timings(name, mode, dtype, side=None, batch=2, repeats=2) -> tuple[float, float]:
    """(twin, torch) seconds of one forward + backward, the best of `repeats`."""
    side = side or MODELS[name][1]
    model = build(name).train(mode == "train")
    model = model.float() if dtype == np.float32 else model
    twin = ref_cnn.from_torch(model, dtype=dtype)
    x = np.random.default_rng(0).standard_normal((batch, 3, side, side)).astype(dtype)
    best = [np.inf, np.inf]
    for _ in range(repeats):
        start = time.perf_counter()
        y = twin.forward(x)
        ys = y if isinstance(y, tuple) else (y,)
        twin.backward(*(np.ones_like(v) for v in ys))
        best[0] = min(best[0], time.perf_counter() - start)
        xt = t(x, True)
        start = time.perf_counter()
        y = model(xt)
        ys = y if isinstance(y, tuple) else (y,)
        torch.autograd.backward(list(ys), [torch.ones_like(v) for v in ys])
        best[1] = min(best[1], time.perf_counter() - start)
    return best[0], best[1]


def parameter_count(name) -> int:
    """The model's number of learnable values."""
    return sum(p.numel() for p in build(name).parameters())
