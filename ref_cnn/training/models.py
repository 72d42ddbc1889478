"""The networks the training command builds, in ref_cnn and as torch twins [MB-12, AV-15]:
AV's network, a LeNet, or any torchvision classification model ("torchvision:NAME",
10 classes, twinned from its graph by `from_torch`; MNIST's grey channel fed to its three)."""

from __future__ import annotations

import numpy as np

from ref_cnn import nn
from ref_cnn._extras import require
from ref_cnn.functional.init import uniform01

MODELS = ("article", "lenet")
TORCHVISION = "torchvision:"


def is_torchvision(name: str) -> bool:
    """Whether `name` is "torchvision:NAME"."""
    return name.startswith(TORCHVISION)


def torchvision_model(name: str, seed: int = 0):
    """torchvision's `NAME` of "torchvision:NAME": weights=None, 10 classes, torch's own
    initialisation under torch.manual_seed(seed), float64."""
    torch = require("torch", "a torchvision model")
    tv_models = require("torchvision.models", "a torchvision model")
    arch = name[len(TORCHVISION) :]
    if not callable(getattr(tv_models, arch, None)):
        raise ValueError(
            f"torchvision.models has no model {arch!r} (e.g. torchvision:mobilenet_v2)"
        )
    torch.manual_seed(seed)
    return getattr(tv_models, arch)(weights=None, num_classes=10).double()


def inputs(name: str, x: np.ndarray) -> np.ndarray:
    """The batch as the model takes it: a torchvision model gets the grey channel three times."""
    return np.repeat(x, 3, axis=1) if is_torchvision(name) and x.shape[1] == 1 else x


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first Conv2d the forward pass reaches (the one that sees the images)."""
    sites = model.sites() if hasattr(model, "sites") else [model]
    # a graph site may itself hold layers (torchvision's Conv2dNormActivation is one leaf)
    modules = (m for site in sites if isinstance(site, nn.Module) for m in site._all_modules())
    return next(m for m in modules if isinstance(m, nn.Conv2d))


def article(seed: int = 0, dtype=np.float64) -> nn.Sequential:
    """AV's network [AV-15] with its U[0, 1) start and its standardisation of Z2, which
    ref_cnn differentiates (the article's exact setting cannot learn: see av_experiment).

    conv(1→3, 5×5, no bias) → σ → flatten (1728) → dense (1, no bias) → standardise → σ
    """
    rng = np.random.default_rng(seed)
    conv = nn.Conv2d(1, 3, 5, bias=False, dtype=dtype)
    dense = nn.Linear(1728, 1, bias=False, dtype=dtype)
    conv.params()["weight"][...] = uniform01((3, 1, 5, 5), rng)  # AV: np.random.uniform
    dense.params()["weight"][...] = uniform01((1, 1728), rng)
    return nn.Sequential(conv, nn.Sigmoid(), nn.Flatten(), dense, nn.Standardize(), nn.Sigmoid())


def lenet(seed: int = 0, dtype=np.float64) -> nn.Sequential:
    """A LeNet-style stack [MB-12]: [conv → ReLU] → pool, twice, then three dense layers.

    n_H, n_W shrink (28 → 14 → 5) while n_C grows (1 → 6 → 16), as MB describes.
    """
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.Linear(120, 84, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.Linear(84, 10, rng=rng, dtype=dtype),
    )


def torch_twin(name: str):
    """The same architecture as a torch module (weights to be copied with `to_torch`)."""
    tnn = require("torch.nn", "models.torch_twin")

    if is_torchvision(name):
        return torchvision_model(name)
    if name == "lenet":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5),
            tnn.ReLU(),
            tnn.MaxPool2d(2),
            tnn.Flatten(),
            tnn.Linear(400, 120),
            tnn.ReLU(),
            tnn.Linear(120, 84),
            tnn.ReLU(),
            tnn.Linear(84, 10),
        )
    raise ValueError(f"no torch twin for {name!r}")


def build(name: str, seed: int = 0, dtype=np.float64) -> nn.Module:
    """The model `name` ("article", "lenet" or "torchvision:NAME") with seeded weights;
    ValueError for others."""
    if is_torchvision(name):
        from ref_cnn.nn.convert import from_torch

        return from_torch(torchvision_model(name, seed), dtype=dtype)
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS} or torchvision:NAME, got {name!r}")
    return {"article": article, "lenet": lenet}[name](seed, dtype)
