"""Converters for the torch.nn (and torchvision.ops) modules of modern CNNs, registered
with `from_torch`: normalisation, activations, padding, dropout-like, spatial and reshaping
layers, and torchvision's SqueezeExcitation, Conv2dNormActivation, StochasticDepth and
Permute."""

from __future__ import annotations

import importlib

import torch.nn as tnn

from ref_cnn.functional.interpolate import MODES as INTERPOLATE_MODES
from ref_cnn.nn import activations_modern as A
from ref_cnn.nn import norms as N
from ref_cnn.nn import padding as P
from ref_cnn.nn import reshape as R
from ref_cnn.nn import spatial as S
from ref_cnn.nn.convert import register_converter
from ref_cnn.nn.dropout import Dropout2d, StochasticDepth
from ref_cnn.nn.layers import Softmax
from ref_cnn.nn.squeeze_excitation import SqueezeExcitation
from ref_cnn.nn.torch_builders import _running_norm, _sequential


def _simple(torch_type, make):
    """Register a converter that builds the twin from the torch module alone."""
    register_converter(torch_type)(lambda m, child, dtype: make(m))


# ------------------------------------------------------------------ normalisation
_simple(tnn.LocalResponseNorm, lambda m: N.LocalResponseNorm(m.size, m.alpha, m.beta, m.k))


@register_converter(tnn.LayerNorm)
def _layer_norm(m, child, dtype):
    affine = m.elementwise_affine
    return N.LayerNorm(m.normalized_shape, m.eps, affine, m.bias is not None, dtype=dtype)


@register_converter(tnn.RMSNorm)
def _rms_norm(m, child, dtype):
    return N.RMSNorm(m.normalized_shape, m.eps, m.elementwise_affine, dtype=dtype)


@register_converter(tnn.GroupNorm)
def _group_norm(m, child, dtype):
    bias = m.bias is not None or not m.affine
    return N.GroupNorm(m.num_groups, m.num_channels, m.eps, m.affine, dtype=dtype, bias=bias)


@register_converter(tnn.InstanceNorm2d)
def _instance_norm(m, child, dtype):
    return _running_norm(N.InstanceNorm2d, m, dtype)


# ------------------------------------------------------------------ activations
for _torch_type, _ours in [
    (tnn.ReLU6, A.ReLU6),
    (tnn.Hardswish, A.Hardswish),
    (tnn.Hardsigmoid, A.Hardsigmoid),
    (tnn.SiLU, A.SiLU),
    (tnn.Mish, A.Mish),
    (tnn.SELU, A.SELU),
    (tnn.LogSigmoid, A.LogSigmoid),
    (tnn.Softsign, A.Softsign),
    (tnn.Softmax2d, A.Softmax2d),
]:
    _simple(_torch_type, lambda m, ours=_ours: ours())
_simple(tnn.GELU, lambda m: A.GELU(m.approximate))
_simple(tnn.ELU, lambda m: A.ELU(m.alpha))
_simple(tnn.CELU, lambda m: A.CELU(m.alpha))
_simple(tnn.Hardtanh, lambda m: A.Hardtanh(m.min_val, m.max_val))
_simple(tnn.Softplus, lambda m: A.Softplus(m.beta, m.threshold))
_simple(tnn.GLU, lambda m: A.GLU(m.dim))
_simple(tnn.LogSoftmax, lambda m: A.LogSoftmax(m.dim))
_simple(tnn.Softmax, lambda m: A.ImplicitDimSoftmax() if m.dim is None else Softmax(m.dim))
register_converter(tnn.PReLU)(
    lambda m, child, dtype: A.PReLU(m.num_parameters, dtype=dtype)
)  # weight copied by from_torch

# ------------------------------------------------------------------ padding
_simple(tnn.ZeroPad2d, lambda m: P.ZeroPad2d(m.padding))
_simple(tnn.ConstantPad2d, lambda m: P.ConstantPad2d(m.padding, m.value))
_simple(tnn.ReflectionPad2d, lambda m: P.ReflectionPad2d(m.padding))
_simple(tnn.ReplicationPad2d, lambda m: P.ReplicationPad2d(m.padding))
_simple(tnn.CircularPad2d, lambda m: P.CircularPad2d(m.padding))

# ------------------------------------------------------------------ spatial and random
_simple(tnn.Dropout2d, lambda m: Dropout2d(m.p))
_simple(tnn.LPPool2d, lambda m: S.LPPool2d(m.norm_type, m.kernel_size, m.stride, m.ceil_mode))
_simple(tnn.PixelShuffle, lambda m: S.PixelShuffle(m.upscale_factor))
_simple(tnn.PixelUnshuffle, lambda m: S.PixelUnshuffle(m.downscale_factor))
_simple(tnn.ChannelShuffle, lambda m: S.ChannelShuffle(m.groups))


def _upsample(m, child, dtype):
    if m.mode not in INTERPOLATE_MODES:
        raise TypeError(
            f"from_torch: {type(m).__name__} with mode={m.mode!r} is not supported "
            f"(these are: {', '.join(INTERPOLATE_MODES)})"
        )
    return S.Upsample(
        m.size, m.scale_factor, m.mode, m.align_corners, getattr(m, "recompute_scale_factor", None)
    )


for _torch_type in (tnn.Upsample, tnn.UpsamplingNearest2d, tnn.UpsamplingBilinear2d):
    register_converter(_torch_type)(_upsample)

# ------------------------------------------------------------------ reshaping
_simple(tnn.Flatten, lambda m: R.Flatten(m.start_dim, m.end_dim))
_simple(tnn.Unflatten, lambda m: R.Unflatten(m.dim, m.unflattened_size))

# ------------------------------------------------------------------ torchvision.ops
try:  # torchvision's blocks where torchvision imports (its modules need it anyway)
    tv_ops = importlib.import_module("torchvision.ops")
except Exception:  # ImportError, or a torchvision built for another torch
    tv_ops = None

if tv_ops is not None:
    _simple(tv_ops.StochasticDepth, lambda m: StochasticDepth(m.p, m.mode))
    _simple(tv_ops.Permute, lambda m: R.Permute(m.dims))
    register_converter(tv_ops.Conv2dNormActivation)(_sequential)  # conv → norm → activation

    @register_converter(tv_ops.SqueezeExcitation)
    def _squeeze_excitation(m, child, dtype):
        return SqueezeExcitation(
            *(child(getattr(m, name), name) for name in SqueezeExcitation.NAMES)
        )
