"""tinygrad's Tensor ops, gradients by its autograd."""

from __future__ import annotations

import functools
import inspect
import os

import numpy as np

from peer_adapters.common import adapter, only, pair

# On tinygrad's PYTHON device (no clang here) every kernel is interpreted element by element:
# one of the kit's tile-sized cases takes minutes (conv2d's six took 7 minutes). Inputs above
# this many elements are skipped for time there; every tile case is, no other case is.
PYTHON_DEVICE_LIMIT = 1000


def _timed(fn):
    params = list(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    def wrapped(*args, **kw):
        x = dict(zip(params, args, strict=False)).get("x")
        slow = os.environ.get("DEV") == "PYTHON" and x is not None
        only(
            "skipped for time (a tile-sized input on tinygrad's interpreted PYTHON device)",
            not slow or np.size(x) <= PYTHON_DEVICE_LIMIT,
        )
        return fn(*args, **kw)

    return wrapped


# ------------------------------------------------------------ tinygrad, with its autograd


def _tiny(a, grad=False):
    from tinygrad import Tensor

    t = Tensor(np.ascontiguousarray(a))
    t.requires_grad = grad
    return t


def _tiny_padding(padding):
    only("padding='same'", padding != "same")
    return 0 if padding == "valid" else padding


@adapter
@_timed
def tiny_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = _tiny(x).conv2d(
        _tiny(w), None if b is None else _tiny(b), groups, stride, dilation, _tiny_padding(padding)
    )
    return y.numpy()


@adapter
@_timed
def tiny_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    xt, wt, bt = _tiny(x, True), _tiny(w, True), _tiny(np.zeros(w.shape[0], x.dtype), True)
    y = xt.conv2d(wt, bt, groups, stride, dilation, _tiny_padding(padding))
    y.backward(_tiny(dy))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@adapter
@_timed
def tiny_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _tiny(x).max_pool2d(pair(kernel_size), stride, dilation, padding, ceil_mode).numpy()


@adapter
@_timed
def tiny_max_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    xt = _tiny(x, True)
    xt.max_pool2d(pair(kernel_size), stride, dilation, padding, ceil_mode).backward(_tiny(dy))
    return xt.grad.numpy()


@adapter
@_timed
def tiny_avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    y = _tiny(x).avg_pool2d(pair(kernel_size), stride, 1, padding, ceil_mode, count_include_pad)
    return y.numpy()


@adapter
@_timed
def tiny_avg_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    xt = _tiny(x, True)
    y = xt.avg_pool2d(pair(kernel_size), stride, 1, padding, ceil_mode, count_include_pad)
    y.backward(_tiny(dy))
    return xt.grad.numpy()


@adapter
@_timed
def tiny_conv_transpose2d(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    y = _tiny(x).conv_transpose2d(
        _tiny(w), None if b is None else _tiny(b), groups, stride, dilation, padding, output_padding
    )
    return y.numpy()


@adapter
@_timed
def tiny_conv_transpose2d_backward(
    dy, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    c_out = w.shape[1] * groups
    xt, wt, bt = _tiny(x, True), _tiny(w, True), _tiny(np.zeros(c_out, x.dtype), True)
    y = xt.conv_transpose2d(wt, bt, groups, stride, dilation, padding, output_padding)
    y.backward(_tiny(dy))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@adapter
@_timed
def tiny_pad(x, pad, mode="constant", value=None):
    return _tiny(x).pad(pad, mode, 0.0 if value is None else value).numpy()


@adapter
@_timed
def tiny_pad_backward(dy, x, pad, mode="constant"):
    xt = _tiny(x, True)
    xt.pad(pad, mode).backward(_tiny(dy))
    return xt.grad.numpy()
