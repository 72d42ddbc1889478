"""Converters from torch.nn (and torchvision.ops) modules to ref_cnn layers, registered
with `from_torch`: the classic layers (conv, pooling, linear, batch norm, containers), the
modern CNNs' normalisation, activations, padding, dropout-like, spatial and reshaping
layers, and torchvision's SqueezeExcitation, Conv2dNormActivation, StochasticDepth and
Permute."""

from __future__ import annotations

import importlib

import torch.nn as tnn

from ref_cnn import nn as L
from ref_cnn.functional.interpolate import MODES as INTERPOLATE_MODES
from ref_cnn.nn.activations import ImplicitDimSoftmax
from ref_cnn.nn.convert import register_converter


def _unsupported(module, what: str):
    return TypeError(f"from_torch: {type(module).__name__} with {what} is not supported")


def _running_norm(cls, m, dtype):
    """The twin `cls` of a norm with running statistics (L.BatchNorm2d, InstanceNorm2d), from
    torch's arguments; β where torch has one (the flag is unused without affine)."""
    return cls(
        m.num_features,
        m.eps,
        m.momentum,
        m.affine,
        m.track_running_stats,
        dtype=dtype,
        bias=m.bias is not None,
    )


@register_converter(tnn.BatchNorm2d)  # MB-17
def _batchnorm(m: tnn.BatchNorm2d, child, dtype):
    return _running_norm(L.BatchNorm2d, m, dtype)


@register_converter(tnn.Conv2d)
def _conv(m: tnn.Conv2d, child, dtype):
    return L.Conv2d(
        m.in_channels,
        m.out_channels,
        m.kernel_size,
        stride=m.stride,
        padding=m.padding,
        dilation=m.dilation,
        groups=m.groups,
        bias=m.bias is not None,
        dtype=dtype,
        padding_mode=m.padding_mode,
    )


@register_converter(tnn.ConvTranspose2d)
def _conv_transpose(m: tnn.ConvTranspose2d, child, dtype):
    if m.padding_mode != "zeros":  # torch itself supports only zeros here
        raise _unsupported(m, f"padding_mode={m.padding_mode!r}")
    return L.ConvTranspose2d(
        m.in_channels,
        m.out_channels,
        m.kernel_size,
        stride=m.stride,
        padding=m.padding,
        output_padding=m.output_padding,
        groups=m.groups,
        bias=m.bias is not None,
        dilation=m.dilation,
        dtype=dtype,
    )


@register_converter(tnn.AdaptiveMaxPool2d)
def _adaptive_max(m: tnn.AdaptiveMaxPool2d, child, dtype):
    return L.AdaptiveMaxPool2d(m.output_size, m.return_indices)


@register_converter(tnn.MaxUnpool2d)
def _max_unpool(m: tnn.MaxUnpool2d, child, dtype):
    return L.MaxUnpool2d(m.kernel_size, m.stride, m.padding)


@register_converter(tnn.Linear)
def _linear(m: tnn.Linear, child, dtype):
    return L.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)


@register_converter(tnn.MaxPool2d)
def _maxpool(m: tnn.MaxPool2d, child, dtype):
    return L.MaxPool2d(
        m.kernel_size, m.stride, m.padding, m.dilation, m.return_indices, m.ceil_mode
    )


@register_converter(tnn.AvgPool2d)
def _avgpool(m: tnn.AvgPool2d, child, dtype):
    return L.AvgPool2d(
        m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad, m.divisor_override
    )


@register_converter(tnn.AdaptiveAvgPool2d)
def _adaptive(m: tnn.AdaptiveAvgPool2d, child, dtype):
    return L.AdaptiveAvgPool2d(m.output_size)  # None in a pair keeps that input size


@register_converter(tnn.Sequential)
def _sequential(m: tnn.Sequential, child, dtype):
    twin = L.Sequential()
    for name, sub in m.named_children():
        twin.add(name, child(sub, name))
    return twin


register_converter(tnn.ReLU)(lambda m, child, dtype: L.ReLU())
register_converter(tnn.Sigmoid)(lambda m, child, dtype: L.Sigmoid())
register_converter(tnn.Tanh)(lambda m, child, dtype: L.Tanh())
register_converter(tnn.Identity)(lambda m, child, dtype: L.Identity())
register_converter(tnn.LeakyReLU)(lambda m, child, dtype: L.LeakyReLU(m.negative_slope))
register_converter(tnn.Dropout)(lambda m, child, dtype: L.Dropout(m.p))


def _simple(torch_type, make):
    """Register a converter that builds the twin from the torch module alone."""
    register_converter(torch_type)(lambda m, child, dtype: make(m))


# ------------------------------------------------------------------ normalisation
_simple(tnn.LocalResponseNorm, lambda m: L.LocalResponseNorm(m.size, m.alpha, m.beta, m.k))


@register_converter(tnn.LayerNorm)
def _layer_norm(m, child, dtype):
    affine = m.elementwise_affine
    return L.LayerNorm(m.normalized_shape, m.eps, affine, m.bias is not None, dtype=dtype)


@register_converter(tnn.RMSNorm)
def _rms_norm(m, child, dtype):
    return L.RMSNorm(m.normalized_shape, m.eps, m.elementwise_affine, dtype=dtype)


@register_converter(tnn.GroupNorm)
def _group_norm(m, child, dtype):
    bias = m.bias is not None or not m.affine
    return L.GroupNorm(m.num_groups, m.num_channels, m.eps, m.affine, dtype=dtype, bias=bias)


@register_converter(tnn.InstanceNorm2d)
def _instance_norm(m, child, dtype):
    return _running_norm(L.InstanceNorm2d, m, dtype)


# ------------------------------------------------------------------ activations
for _torch_type, _ours in [
    (tnn.ReLU6, L.ReLU6),
    (tnn.Hardswish, L.Hardswish),
    (tnn.Hardsigmoid, L.Hardsigmoid),
    (tnn.SiLU, L.SiLU),
    (tnn.Mish, L.Mish),
    (tnn.SELU, L.SELU),
    (tnn.LogSigmoid, L.LogSigmoid),
    (tnn.Softsign, L.Softsign),
    (tnn.Softmax2d, L.Softmax2d),
]:
    _simple(_torch_type, lambda m, ours=_ours: ours())
_simple(tnn.GELU, lambda m: L.GELU(m.approximate))
_simple(tnn.ELU, lambda m: L.ELU(m.alpha))
_simple(tnn.CELU, lambda m: L.CELU(m.alpha))
_simple(tnn.Hardtanh, lambda m: L.Hardtanh(m.min_val, m.max_val))
_simple(tnn.Softplus, lambda m: L.Softplus(m.beta, m.threshold))
_simple(tnn.GLU, lambda m: L.GLU(m.dim))
_simple(tnn.LogSoftmax, lambda m: L.LogSoftmax(m.dim))
_simple(tnn.Softmax, lambda m: ImplicitDimSoftmax() if m.dim is None else L.Softmax(m.dim))
register_converter(tnn.PReLU)(
    lambda m, child, dtype: L.PReLU(m.num_parameters, dtype=dtype)
)  # weight copied by from_torch

# ------------------------------------------------------------------ padding
_simple(tnn.ZeroPad2d, lambda m: L.ZeroPad2d(m.padding))
_simple(tnn.ConstantPad2d, lambda m: L.ConstantPad2d(m.padding, m.value))
_simple(tnn.ReflectionPad2d, lambda m: L.ReflectionPad2d(m.padding))
_simple(tnn.ReplicationPad2d, lambda m: L.ReplicationPad2d(m.padding))
_simple(tnn.CircularPad2d, lambda m: L.CircularPad2d(m.padding))

# ------------------------------------------------------------------ spatial and random
_simple(tnn.Dropout2d, lambda m: L.Dropout2d(m.p))
_simple(tnn.LPPool2d, lambda m: L.LPPool2d(m.norm_type, m.kernel_size, m.stride, m.ceil_mode))
_simple(tnn.PixelShuffle, lambda m: L.PixelShuffle(m.upscale_factor))
_simple(tnn.PixelUnshuffle, lambda m: L.PixelUnshuffle(m.downscale_factor))
_simple(tnn.ChannelShuffle, lambda m: L.ChannelShuffle(m.groups))


def _upsample(m, child, dtype):
    if m.mode not in INTERPOLATE_MODES:
        raise TypeError(
            f"from_torch: {type(m).__name__} with mode={m.mode!r} is not supported "
            f"(these are: {', '.join(INTERPOLATE_MODES)})"
        )
    return L.Upsample(
        m.size, m.scale_factor, m.mode, m.align_corners, getattr(m, "recompute_scale_factor", None)
    )


for _torch_type in (tnn.Upsample, tnn.UpsamplingNearest2d, tnn.UpsamplingBilinear2d):
    register_converter(_torch_type)(_upsample)

# ------------------------------------------------------------------ reshaping
_simple(tnn.Flatten, lambda m: L.Flatten(m.start_dim, m.end_dim))
_simple(tnn.Unflatten, lambda m: L.Unflatten(m.dim, m.unflattened_size))

# ------------------------------------------------------------------ torchvision.ops
try:  # torchvision's blocks where torchvision imports (its modules need it anyway)
    tv_ops = importlib.import_module("torchvision.ops")
except Exception:  # ImportError, or a torchvision built for another torch
    tv_ops = None

if tv_ops is not None:
    _simple(tv_ops.StochasticDepth, lambda m: L.StochasticDepth(m.p, m.mode))
    _simple(tv_ops.Permute, lambda m: L.Permute(m.dims))
    register_converter(tv_ops.Conv2dNormActivation)(_sequential)  # conv → norm → activation

    @register_converter(tv_ops.SqueezeExcitation)
    def _squeeze_excitation(m, child, dtype):
        return L.SqueezeExcitation(
            *(child(getattr(m, name), name) for name in L.SqueezeExcitation.NAMES)
        )
