"""Converters from torch.nn modules to ref_cnn layers, registered with `from_torch`."""

from __future__ import annotations

import torch.nn as tnn

from ref_cnn.nn import layers as L
from ref_cnn.nn.blocks import BatchNorm2d
from ref_cnn.nn.conv_transpose import ConvTranspose2d
from ref_cnn.nn.convert import register_converter
from ref_cnn.nn.dropout import Dropout
from ref_cnn.nn.max_indices import AdaptiveMaxPool2d, MaxUnpool2d


def _unsupported(module, what: str):
    return TypeError(f"from_torch: {type(module).__name__} with {what} is not supported")


def _running_norm(cls, m, dtype):
    """The twin `cls` of a norm with running statistics (BatchNorm2d, InstanceNorm2d), from
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
    return _running_norm(BatchNorm2d, m, dtype)


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
    return ConvTranspose2d(
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
    return AdaptiveMaxPool2d(m.output_size, m.return_indices)


@register_converter(tnn.MaxUnpool2d)
def _max_unpool(m: tnn.MaxUnpool2d, child, dtype):
    return MaxUnpool2d(m.kernel_size, m.stride, m.padding)


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


@register_converter(tnn.Flatten)
def _flatten(m: tnn.Flatten, child, dtype):
    if (m.start_dim, m.end_dim) != (1, -1):
        raise _unsupported(m, f"start_dim={m.start_dim}, end_dim={m.end_dim}")
    return L.Flatten()


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
register_converter(tnn.Softmax)(
    lambda m, child, dtype: L.Softmax(m.dim if m.dim is not None else 1)
)
register_converter(tnn.Dropout)(lambda m, child, dtype: Dropout(m.p))
