"""Converters for the torch.nn (and torchvision.ops) modules of modern CNNs, registered
with `from_torch`: normalisation, activations, padding, dropout-like and reshaping layers,
and torchvision's SqueezeExcitation, Conv2dNormActivation, StochasticDepth and Permute."""

from __future__ import annotations

import importlib

import torch.nn as tnn

from ref_cnn.nn.convert import register_converter
from ref_cnn.nn.dropout import Dropout2d, StochasticDepth

register_converter(tnn.Dropout2d)(lambda m, child, dtype: Dropout2d(m.p))

try:  # torchvision's blocks where torchvision imports (its modules need it anyway)
    tv_ops = importlib.import_module("torchvision.ops")
except Exception:  # ImportError, or a torchvision built for another torch
    tv_ops = None

if tv_ops is not None:
    register_converter(tv_ops.StochasticDepth)(lambda m, child, dtype: StochasticDepth(m.p, m.mode))
