"""numpy-ml 0.1.2's Conv2D, Pool2D and BatchNorm2D layers (NHWC; W is (kH, kW, C_in, C_out))."""

from __future__ import annotations

import numpy as np

from peer_adapters.common import adapter, only, pair

# ------------------------------------------------ numpy-ml 0.1.2 (NHWC, W (kH, kW, C_in, C_out))


def _nml():
    from numpy_ml.neural_nets import layers

    return layers


def _nml_conv(x, w, b, stride, padding, dilation, groups):
    only("groups", groups == 1)
    s, d = pair(stride), pair(dilation)
    only("different row and column strides or dilations", s[0] == s[1] and d[0] == d[1])
    pad = (
        {"valid": 0, "same": "same"}.get(padding, padding) if isinstance(padding, str) else padding
    )
    pad = tuple(pad) if isinstance(pad, tuple | list) else pad
    # numpy-ml's dilation counts the zeros inserted between kernel taps: torch's d − 1
    layer = _nml().Conv2D(w.shape[3], w.shape[:2], pad=pad, stride=s[0], dilation=d[0] - 1)
    layer.in_ch = x.shape[3]
    layer._init_params()
    layer.parameters["W"] = w
    layer.parameters["b"] = (
        np.zeros((1, 1, 1, w.shape[3]), w.dtype) if b is None else b.reshape(1, 1, 1, -1)
    )
    return layer


@adapter
def nml_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return _nml_conv(x, w, b, stride, padding, dilation, groups).forward(x)


@adapter
def nml_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    layer = _nml_conv(x, w, None, stride, padding, dilation, groups)
    layer.forward(x)
    dx = layer.backward(dy)
    return dx, layer.gradients["W"], layer.gradients["b"].reshape(-1)


def _nml_pool(mode, kernel_size, stride, padding, dilation, ceil_mode, count_include_pad=True):
    k = pair(kernel_size)
    s = k if stride is None else pair(stride)
    only("different row and column strides", s[0] == s[1])
    only("dilation", pair(dilation) == (1, 1))
    only("ceil_mode", not ceil_mode)
    only("count_include_pad=False", count_include_pad)
    return _nml().Pool2D(k, stride=s[0], pad=pair(padding), mode=mode)


@adapter
def nml_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _nml_pool("max", kernel_size, stride, padding, dilation, ceil_mode).forward(x)


@adapter
def nml_max_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    layer = _nml_pool("max", kernel_size, stride, padding, dilation, ceil_mode)
    layer.forward(x)
    return layer.backward(dy)


@adapter
def nml_avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    layer = _nml_pool("average", kernel_size, stride, padding, 1, ceil_mode, count_include_pad)
    return layer.forward(x)


@adapter
def nml_avg_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    layer = _nml_pool("average", kernel_size, stride, padding, 1, ceil_mode, count_include_pad)
    layer.forward(x)
    return layer.backward(dy)


def _nml_bn(x, weight, bias, eps):
    layer = _nml().BatchNorm2D(epsilon=eps)
    layer.in_ch = layer.out_ch = x.shape[3]
    layer._init_params()
    layer.parameters["scaler"], layer.parameters["intercept"] = weight, bias
    return layer


@adapter
def nml_batch_norm(x, weight, bias, eps=1e-5):
    return _nml_bn(x, weight, bias, eps).forward(x)  # training mode: the batch's statistics


@adapter
def nml_batch_norm_backward(dy, x, weight, eps=1e-5):
    layer = _nml_bn(x, weight, np.zeros_like(weight), eps)
    layer.forward(x)
    dx = layer.backward(dy)
    return dx, layer.gradients["scaler"], layer.gradients["intercept"]
