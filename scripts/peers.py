"""Run the conformance kit against implementations this project did not write → docs/peers.md.

    python scripts/peers.py                 # builds .peers-venv once, installs the peers, runs them
    python scripts/peers.py --only ic,jax   # a subset (ic, av, numpy-ml, numpy-ml-f32, tinygrad, jax, torch32)

The peers live in a venv of their own (`.peers-venv`, gitignored), never in the project's:
jax/jaxlib, tinygrad, numpy-ml 0.1.2, plus the same numpy and torch (the kit's witness).
Each peer gets a thin adapter below that maps ref_cnn's signature onto the peer's API and
nothing more; where a case asks for an option the peer does not have (stride for a layer
with no stride), the adapter raises NotImplementedError and the kit counts the case as
skipped, not failed. The IC and AV code is copied as printed in the articles
(`/work/shared/seeds/002_*`, `003_*`), re-indented where the page lost the indentation.

Environment notes, reported in docs/peers.md as well:
* numpy-ml 0.1.2 does `from collections import Hashable`, removed in Python 3.10: the script
  sets `collections.Hashable = collections.abc.Hashable` before importing it.
* tinygrad's CPU device compiles kernels with clang; without clang it runs on its PYTHON
  device (the same kernels, interpreted). DEV=PYTHON is set unless DEV is already set.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import datetime
import functools
import inspect
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".peers-venv"
OUT = ROOT / "docs" / "peers.md"
LAST_RUN = VENV / "last-run.json"  # the rows behind the last docs/peers.md, for --render-only
PEERS = ["jax==0.10.2", "jaxlib==0.10.2", "tinygrad==0.14.0", "numpy-ml==0.1.2", "scipy"]


# ------------------------------------------------------------------------------ the venv


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create .peers-venv with this interpreter and install the peers (pinned) into it."""
    if not _venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    same = [f"numpy=={metadata.version('numpy')}"]
    same.append(f"torch=={metadata.version('torch').split('+')[0]}")
    subprocess.run(
        [str(_venv_python()), "-m", "pip", "install", "--quiet", *same, *PEERS], check=True
    )


def reexec_inside(argv: list[str]) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REF_CNN_PEERS_INSIDE": "1"}
    env.setdefault("DEV", "PYTHON")
    return subprocess.run([str(_venv_python()), __file__, *argv], env=env).returncode


# The imports below run inside .peers-venv only.
if os.environ.get("REF_CNN_PEERS_INSIDE"):
    import numpy as np

    from ref_cnn import conformance

    collections.Hashable = collections.abc.Hashable  # numpy-ml 0.1.2 on Python ≥ 3.10


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _only(what: str, ok: bool) -> None:
    if not ok:
        raise NotImplementedError(what)


def adapter(fn):
    """What no peer here offers, declined for every adapter: torch's unbatched (C, H, W)
    inputs and, unless the adapter takes it, avg_pool2d's divisor_override."""
    params = inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapped(*args, **kw):
        x = dict(zip(params, args, strict=False)).get("x")  # args may stop before x
        _only("unbatched (C, H, W) input", x is None or np.ndim(x) == 4)
        if "divisor_override" not in params:
            _only("divisor_override", kw.pop("divisor_override", None) is None)
        return fn(*args, **kw)

    return wrapped


# ------------------------------------------------- IC: the post's classes, as printed


class Layer:  # the post's base class is not printed; its layers only use it as a base
    pass


class Convolution(Layer):
    def __init__(self, input_shape, kernel_size, depth, padding=0):
        input_depth, input_height, input_width = input_shape
        self.depth = depth
        self.padding = padding
        self.input_shape = input_shape
        self.input_depth = input_depth
        output_height = input_height + 2 * padding - kernel_size + 1
        output_width = input_width + 2 * padding - kernel_size + 1
        self.output_shape = (depth, output_height, output_width)
        self.kernels_shape = (depth, input_depth, kernel_size, kernel_size)
        self.fan_in = input_depth * kernel_size * kernel_size
        self.kernels = np.random.randn(*self.kernels_shape) * np.sqrt(2 / self.fan_in)  # noqa: NPY002
        self.biases = np.zeros(self.output_shape)

    def forward(self, input):
        from scipy import signal

        self.input = input
        self.output = np.copy(self.biases)
        # Padding
        if self.padding > 0:
            self.padded_input = np.pad(
                input,
                ((0, 0), (self.padding, self.padding), (self.padding, self.padding)),
                mode="constant",
            )
        else:
            self.padded_input = input
        for i in range(self.depth):
            for j in range(self.input_depth):
                self.output[i] += signal.correlate2d(
                    self.padded_input[j], self.kernels[i, j], mode="valid"
                )
        return self.output

    def backward(self, output_gradient, learning_rate):
        from scipy import signal

        kernels_gradient = np.zeros(self.kernels_shape)
        input_gradient = np.zeros(self.input_shape)
        for i in range(self.depth):
            for j in range(self.input_depth):
                kernels_gradient[i, j] = signal.correlate2d(
                    self.padded_input[j], output_gradient[i], mode="valid"
                )
                full_grad = signal.convolve2d(output_gradient[i], self.kernels[i, j], mode="full")
                if self.padding > 0:
                    full_grad = full_grad[
                        self.padding : -self.padding, self.padding : -self.padding
                    ]
                input_gradient[j] += full_grad
        self.kernels -= learning_rate * kernels_gradient
        self.biases -= learning_rate * output_gradient
        return input_gradient


class MaxPooling(Layer):
    def __init__(self, stride=2):
        self.stride = stride

    def forward(self, input):
        self.input = input
        depth, height, width = input.shape
        output_h = height // self.stride
        output_w = width // self.stride
        self.output = np.zeros((depth, output_h, output_w))
        for d in range(depth):
            for i in range(output_h):
                for j in range(output_w):
                    region = input[
                        d,
                        i * self.stride : (i + 1) * self.stride,
                        j * self.stride : (j + 1) * self.stride,
                    ]
                    self.output[d, i, j] = np.max(region)
        return self.output

    def backward(self, output_gradient, learning_rate):
        input_gradient = np.zeros(self.input.shape)
        depth, output_h, output_w = output_gradient.shape
        for d in range(depth):
            for i in range(output_h):
                for j in range(output_w):
                    region = self.input[
                        d,
                        i * self.stride : (i + 1) * self.stride,
                        j * self.stride : (j + 1) * self.stride,
                    ]
                    mask = region == np.max(region)
                    input_gradient[
                        d,
                        i * self.stride : (i + 1) * self.stride,
                        j * self.stride : (j + 1) * self.stride,
                    ] += output_gradient[d, i, j] * mask
        return input_gradient


def _ic_padding(padding, w) -> int:
    """The layer takes one int: square kernels, symmetric padding, stride 1."""
    k = w.shape[2]
    _only("non-square kernels", w.shape[2] == w.shape[3])
    if padding == "valid":
        return 0
    if padding == "same":
        _only("padding='same' with an even kernel", k % 2 == 1)
        return k // 2
    p = _pair(padding)
    _only("different row and column padding", p[0] == p[1])
    return p[0]


def _ic_layer(x, w, b, stride, padding, dilation, groups):
    _only("stride, dilation and groups", _pair(stride) == _pair(dilation) == (1, 1) and groups == 1)
    layer = Convolution(x.shape[1:], w.shape[2], w.shape[0], _ic_padding(padding, w))
    layer.kernels = w.copy()
    if b is not None:  # the layer keeps one bias per output position: tie it per channel
        layer.biases = layer.biases + b[:, None, None]
    return layer


@adapter
def ic_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """One layer per image (the class takes (C, H, W))."""
    return np.stack([_ic_layer(x, w, b, stride, padding, dilation, groups).forward(i) for i in x])


@adapter
def ic_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """backward() returns ∂E/∂X and applies ∂E/∂K, ∂E/∂B as an update: with learning_rate=1 the
    kernel gradient is read back as (kernels before − after); the bias gradient is δ itself."""
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros(w.shape[0])
    for n in range(x.shape[0]):
        layer = _ic_layer(x, w, None, stride, padding, dilation, groups)
        layer.forward(x[n])
        dx[n] = layer.backward(dy[n], learning_rate=1.0)
        dw += w - layer.kernels
        db += (-layer.biases).sum(axis=(1, 2))
    return dx, dw, db


def _ic_pool(kernel_size, stride, padding, dilation, ceil_mode) -> int:
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    _only("a window other than a square one equal to the stride", k == s and k[0] == k[1])
    _only("padding, dilation and ceil_mode", _pair(padding) == (0, 0) and _pair(dilation) == (1, 1))
    _only("ceil_mode", not ceil_mode)
    return k[0]


@adapter
def ic_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    s = _ic_pool(kernel_size, stride, padding, dilation, ceil_mode)
    return np.stack([MaxPooling(s).forward(i) for i in x])


@adapter
def ic_max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    s = _ic_pool(kernel_size, stride, padding, dilation, ceil_mode)
    out = []
    for i, g in zip(x, dy, strict=True):
        layer = MaxPooling(s)
        layer.forward(i)
        out.append(layer.backward(g, learning_rate=1.0))
    return np.stack(out)


# ------------------------------------------- AV: the article's listings, as printed


def _av_only(x, w, stride, padding, dilation, groups):
    _only("more than one input channel", x.shape[1] == 1)
    _only("stride, dilation and groups", _pair(stride) == _pair(dilation) == (1, 1) and groups == 1)
    _only("padding", padding in (0, (0, 0), "valid"))


@adapter
def av_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """create_patches.py + convolution.py. X is the article's (H, W, N), f its (kH, kW, filters).
    The article's layer has no bias: the adapter adds b after the listing."""
    _av_only(x, w, stride, padding, dilation, groups)
    X = x[:, 0].transpose(1, 2, 0)  # (H, W, N)
    f = w[:, 0].transpose(1, 2, 0)  # (kH, kW, C_out)
    # --- create_patches.py
    new_image = []
    for k in range(X.shape[2]):
        for i in range(X.shape[0] - f.shape[0] + 1):
            for j in range(X.shape[1] - f.shape[1] + 1):
                new_image.append(X[:, :, k][i : i + f.shape[0], j : j + f.shape[1]])
    new_image = np.array(new_image)
    new_image.resize(
        (X.shape[2], int(new_image.shape[0] / X.shape[2]), new_image.shape[1], new_image.shape[2])
    )
    # --- convolution.py
    filter_output = []
    for i in range(len(new_image)):
        for k in range(f.shape[2]):
            for j in range(new_image.shape[1]):
                filter_output.append((new_image[i][j] * f[:, :, k]).sum())
    filter_output = np.resize(
        np.array(filter_output), (len(new_image), f.shape[2], new_image.shape[1])
    )
    h, wd = X.shape[0] - f.shape[0] + 1, X.shape[1] - f.shape[1] + 1
    y = filter_output.reshape(x.shape[0], w.shape[0], h, wd)
    return y if b is None else y + b[:, None, None]


@adapter
def av_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """derivative_conv.py (lines 9–10) + backprop_convolve.py. The listing's ∂E/∂(filter output)
    arrives as the flattened (C_out·H_o·W_o, N) matrix the forward made; it computes only the
    filter gradient (no ∂E/∂X, no bias), so dx and db are returned as None (not checked)."""
    _av_only(x, w, stride, padding, dilation, groups)
    X = x[:, 0].transpose(1, 2, 0)
    f = w[:, 0].transpose(1, 2, 0)
    s_row, s_col = X.shape[0] - f.shape[0] + 1, X.shape[1] - f.shape[1] + 1
    error_wrt_filter_output = dy.reshape(dy.shape[0], -1).T  # (1728, N) in the article
    # --- derivative_conv.py, lines 9-10
    error_wrt_filter_output = np.average(error_wrt_filter_output, axis=1)
    error_wrt_filter_output = np.resize(
        error_wrt_filter_output,
        (X.shape[0] - f.shape[0] + 1, X.shape[1] - f.shape[1] + 1, f.shape[2]),
    )
    # --- backprop_convolve.py
    filter_update = []
    for i in range(f.shape[2]):  # noqa: B007 - as printed: i is never used
        for j in range(f.shape[0]):
            for k in range(f.shape[1]):
                temp = 0
                spos_row = j
                spos_col = k
                epos_row = spos_row + s_row
                epos_col = spos_col + s_col
                for l in range(X.shape[2]):  # noqa: E741
                    temp = (
                        temp
                        + (
                            X[spos_row:epos_row, spos_col:epos_col, l]
                            * error_wrt_filter_output[:, :, l]
                        ).sum()
                    )
                filter_update.append(temp / X.shape[2])
    filter_update_array = np.array(filter_update)
    filter_update_array = np.resize(filter_update_array, (f.shape[2], f.shape[0], f.shape[1]))
    return None, filter_update_array[:, None], None


# ------------------------------------------------ numpy-ml 0.1.2 (NHWC, W (kH, kW, C_in, C_out))


def _nml():
    from numpy_ml.neural_nets import layers

    return layers


def _nml_conv(x, w, b, stride, padding, dilation, groups):
    _only("groups", groups == 1)
    s, d = _pair(stride), _pair(dilation)
    _only("different row and column strides or dilations", s[0] == s[1] and d[0] == d[1])
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
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    _only("different row and column strides", s[0] == s[1])
    _only("dilation", _pair(dilation) == (1, 1))
    _only("ceil_mode", not ceil_mode)
    _only("count_include_pad=False", count_include_pad)
    return _nml().Pool2D(k, stride=s[0], pad=_pair(padding), mode=mode)


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


# ------------------------------------------------------------ tinygrad, with its autograd


def _tiny(a, grad=False):
    from tinygrad import Tensor

    t = Tensor(np.ascontiguousarray(a))
    t.requires_grad = grad
    return t


def _tiny_padding(padding):
    _only("padding='same'", padding != "same")
    return 0 if padding == "valid" else padding


@adapter
def tiny_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = _tiny(x).conv2d(
        _tiny(w), None if b is None else _tiny(b), groups, stride, dilation, _tiny_padding(padding)
    )
    return y.numpy()


@adapter
def tiny_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    xt, wt, bt = _tiny(x, True), _tiny(w, True), _tiny(np.zeros(w.shape[0], x.dtype), True)
    y = xt.conv2d(wt, bt, groups, stride, dilation, _tiny_padding(padding))
    y.backward(_tiny(dy))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@adapter
def tiny_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _tiny(x).max_pool2d(_pair(kernel_size), stride, dilation, padding, ceil_mode).numpy()


@adapter
def tiny_max_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    xt = _tiny(x, True)
    xt.max_pool2d(_pair(kernel_size), stride, dilation, padding, ceil_mode).backward(_tiny(dy))
    return xt.grad.numpy()


@adapter
def tiny_avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    y = _tiny(x).avg_pool2d(_pair(kernel_size), stride, 1, padding, ceil_mode, count_include_pad)
    return y.numpy()


@adapter
def tiny_avg_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    xt = _tiny(x, True)
    y = xt.avg_pool2d(_pair(kernel_size), stride, 1, padding, ceil_mode, count_include_pad)
    y.backward(_tiny(dy))
    return xt.grad.numpy()


@adapter
def tiny_conv_transpose2d(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    y = _tiny(x).conv_transpose2d(
        _tiny(w), None if b is None else _tiny(b), groups, stride, dilation, padding, output_padding
    )
    return y.numpy()


@adapter
def tiny_conv_transpose2d_backward(
    dy, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    c_out = w.shape[1] * groups
    xt, wt, bt = _tiny(x, True), _tiny(w, True), _tiny(np.zeros(c_out, x.dtype), True)
    y = xt.conv_transpose2d(wt, bt, groups, stride, dilation, padding, output_padding)
    y.backward(_tiny(dy))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@adapter
def tiny_pad(x, pad, mode="constant", value=None):
    return _tiny(x).pad(pad, mode, 0.0 if value is None else value).numpy()


@adapter
def tiny_pad_backward(dy, x, pad, mode="constant"):
    xt = _tiny(x, True)
    xt.pad(pad, mode).backward(_tiny(dy))
    return xt.grad.numpy()


# ---------------------------------------- JAX: lax, gradients by the kit's jax.vjp


@adapter
def jax_pad(x, pad, mode="constant", value=None):
    """jnp.pad: torch's flat (before_last, after_last, …) widths as per-axis pairs; torch's
    reflect / replicate / circular are NumPy's reflect / edge / wrap."""
    import jax.numpy as jnp

    _only("negative widths (crops)", min(pad) >= 0)
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if mode == "constant":
        return jnp.pad(x, widths, constant_values=0.0 if value is None else value)
    return jnp.pad(
        x, widths, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    )


@adapter
def jax_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    from jax import lax

    pads = {"valid": "VALID", "same": "SAME"}.get(padding) if isinstance(padding, str) else None
    if pads is None:
        pads = [(p, p) for p in _pair(padding)]
    y = lax.conv_general_dilated(
        x,
        w,
        window_strides=_pair(stride),
        padding=pads,
        rhs_dilation=_pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
    )
    return y if b is None else y + b[None, :, None, None]


def _jax_window(kernel_size, stride, padding, ceil_mode):
    _only("ceil_mode (lax has no such option)", not ceil_mode)
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    return (1, 1, *k), (1, 1, *s), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))


@adapter
def jax_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    import jax.numpy as jnp
    from jax import lax

    window, strides, pads = _jax_window(kernel_size, stride, padding, ceil_mode)
    return lax.reduce_window(
        x, -jnp.inf, lax.max, window, strides, pads, window_dilation=(1, 1, *_pair(dilation))
    )


@adapter
def jax_avg_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    import jax.numpy as jnp
    from jax import lax

    window, strides, pads = _jax_window(kernel_size, stride, padding, ceil_mode)
    total = lax.reduce_window(x, 0.0, lax.add, window, strides, pads)
    if divisor_override:
        return total / divisor_override
    if count_include_pad:
        return total / (window[2] * window[3])
    count = lax.reduce_window(jnp.ones_like(x), 0.0, lax.add, window, strides, pads)
    return total / count  # as flax's avg_pool(count_include_pad=False)


# ------------------------------------------------------------------------------ the runs

NUMPY_ML = "numpy-ml 0.1.2"
RUNS = {
    # key: [(implementation, op, function, check options)]
    "ic": [
        ("IC post (Convolution)", "conv2d", ic_conv2d, {}),
        ("IC post (Convolution)", "conv2d_backward", ic_conv2d_backward, {}),
        ("IC post (MaxPooling)", "max_pool2d", ic_max_pool2d, {}),
        ("IC post (MaxPooling)", "max_pool2d_backward", ic_max_pool2d_backward, {}),
    ],
    "av": [
        ("AV article (listings)", "conv2d", av_conv2d, {}),
        ("AV article (listings)", "conv2d_backward", av_conv2d_backward, {}),
    ],
    "numpy-ml": [
        (f"{NUMPY_ML} Conv2D", "conv2d", nml_conv2d, {"layout": "nhwc"}),
        (f"{NUMPY_ML} Conv2D", "conv2d_backward", nml_conv2d_backward, {"layout": "nhwc"}),
        (f"{NUMPY_ML} Pool2D max", "max_pool2d", nml_max_pool2d, {"layout": "nhwc"}),
        (
            f"{NUMPY_ML} Pool2D max",
            "max_pool2d_backward",
            nml_max_pool2d_backward,
            {"layout": "nhwc"},
        ),
        (f"{NUMPY_ML} Pool2D average", "avg_pool2d", nml_avg_pool2d, {"layout": "nhwc"}),
        (
            f"{NUMPY_ML} Pool2D average",
            "avg_pool2d_backward",
            nml_avg_pool2d_backward,
            {"layout": "nhwc"},
        ),
        (f"{NUMPY_ML} BatchNorm2D", "batch_norm_train", nml_batch_norm, {"layout": "nhwc"}),
        (
            f"{NUMPY_ML} BatchNorm2D",
            "batch_norm_train_backward",
            nml_batch_norm_backward,
            {"layout": "nhwc"},
        ),
    ],
    "numpy-ml-f32": [
        (f"{NUMPY_ML} Conv2D", "conv2d", nml_conv2d, {"layout": "nhwc", "dtype": "float32"}),
        (
            f"{NUMPY_ML} Conv2D",
            "conv2d_backward",
            nml_conv2d_backward,
            {"layout": "nhwc", "dtype": "float32"},
        ),
        (
            f"{NUMPY_ML} Pool2D max",
            "max_pool2d",
            nml_max_pool2d,
            {"layout": "nhwc", "dtype": "float32"},
        ),
        (
            f"{NUMPY_ML} BatchNorm2D",
            "batch_norm_train",
            nml_batch_norm,
            {"layout": "nhwc", "dtype": "float32"},
        ),
    ],
    "tinygrad": [
        ("tinygrad 0.14.0", "conv2d", tiny_conv2d, {}),
        ("tinygrad 0.14.0", "conv2d_backward", tiny_conv2d_backward, {}),
        ("tinygrad 0.14.0", "max_pool2d", tiny_max_pool2d, {}),
        ("tinygrad 0.14.0", "max_pool2d_backward", tiny_max_pool2d_backward, {}),
        ("tinygrad 0.14.0", "avg_pool2d", tiny_avg_pool2d, {}),
        ("tinygrad 0.14.0", "avg_pool2d_backward", tiny_avg_pool2d_backward, {}),
        ("tinygrad 0.14.0", "conv_transpose2d", tiny_conv_transpose2d, {}),
        ("tinygrad 0.14.0", "conv_transpose2d_backward", tiny_conv_transpose2d_backward, {}),
        ("tinygrad 0.14.0", "pad", tiny_pad, {}),
        ("tinygrad 0.14.0", "pad_backward", tiny_pad_backward, {}),
    ],
    "jax": [
        ("JAX 0.10.2 lax.conv_general_dilated", "conv2d", jax_conv2d, {"framework": "jax"}),
        ("JAX 0.10.2 lax.reduce_window max", "max_pool2d", jax_max_pool2d, {"framework": "jax"}),
        ("JAX 0.10.2 lax.reduce_window add", "avg_pool2d", jax_avg_pool2d, {"framework": "jax"}),
        ("JAX 0.10.2 jnp.pad", "pad", jax_pad, {"framework": "jax"}),
    ],
    "torch32": [
        (
            "torch {torch} float32 CPU",
            op,
            f"torch.nn.functional:{op}",
            {"dtype": "float32", "rtol": 2e-5},
        )
        for op in ("conv2d", "max_pool2d", "avg_pool2d", "linear")
    ],
}

# What a failure means, written after reading the run: (implementation, op) → (the first
# failing case the sentence was written for, the sentence). A run whose first failure is a
# different case gets "not explained" in the table rather than a stale sentence.
_TIES_IC = (
    "IC-8-ties-k2",
    "a convention, not torch's: the mask `region == np.max(region)` gives the whole gradient to "
    "every tied maximum (ref_cnn's erratum IC-code-1), torch to the first one only; on distinct "
    "values it conforms. After a ReLU whole windows of zeros tie, so the gradient is multiplied.",
)
_AV_BACKWARD = (
    "AV-14-av-layer-nobias",
    "a real bug: with 3 images and 3 filters the filter gradient is wrong (relative error ~1): "
    "δ is averaged over the images (errata AV-code-1), resized in the wrong order (AV-code-3) and "
    "indexed by image instead of by filter (AV-code-4). With one image and one filter those "
    "slips cancel and it conforms; at the article's 200 images it stops with an IndexError.",
)
_NML_PAD_BACKWARD = (
    "pad1-minus-inf",
    "a real bug: with padding, `backward` looks for the maximum in the unpadded X at the padded "
    "window's offsets, so the gradient lands on the wrong pixel (and with stride 1 the slice "
    "shapes clash: ValueError on IC-8-plateau-overlapping-p1). Without padding it conforms, ties "
    "included (first maximum, as torch).",
)
_NML_FLOAT64_OUT = "float32 in, float64 out: the {what} is allocated with np.zeros' default dtype."
MEANING: dict[tuple[str, str], tuple[str, str]] = {
    ("IC post (MaxPooling)", "max_pool2d_backward"): _TIES_IC,
    ("AV article (listings)", "conv2d_backward"): _AV_BACKWARD,
    (f"{NUMPY_ML} Pool2D max", "max_pool2d"): (
        "pad1-all-negative",
        "a real bug: Pool2D pads with zeros (pad2D's constant 0), not −inf, so a border window "
        "of negative values returns 0. Random normal inputs rarely show it (the first run of "
        "this table passed the layer); the kit's all-negative case was added for it.",
    ),
    (f"{NUMPY_ML} Pool2D max", "max_pool2d_backward"): _NML_PAD_BACKWARD,
    ("tinygrad 0.14.0", "max_pool2d_backward"): (
        "IC-8-ties-k2",
        "a convention: tinygrad's max gradient splits δ equally among tied maxima (a third each "
        "here), torch gives it all to the first; with distinct values it conforms, padding, "
        "dilation and ceil_mode included.",
    ),
}
# what a reader should know about a row whatever its outcome
NOTES: dict[tuple[str, str], str] = {
    ("IC post (Convolution)", "conv2d"): "The class has stride 1 and square kernels only, and one "
    "bias per output position (erratum IC-code-2): the adapter ties it per channel.",
    ("JAX 0.10.2 lax.reduce_window max", "max_pool2d"): "JAX itself raises NotImplementedError for "
    "the gradient of a max pool with window dilation (counted as skipped); tied maxima: the "
    "first gets the gradient, as in torch.",
    ("AV article (listings)", "conv2d"): "One input channel, stride 1, no padding; the article's "
    "layer has no bias (the adapter adds b after the listing).",
}
# float32 rows share names with the float64 ones: keyed by dtype as well
MEANING_F32: dict[tuple[str, str], tuple[str, str]] = {
    (f"{NUMPY_ML} Conv2D", "conv2d_backward"): (
        "MB-5-multichannel-cin3-cout4",
        _NML_FLOAT64_OUT.format(what="input gradient (col2im's buffer)"),
    ),
    (f"{NUMPY_ML} Pool2D max", "max_pool2d"): (
        "IC-8-k2-default-stride",
        _NML_FLOAT64_OUT.format(what="output Y"),
    ),
}


def _check(impl, op, fn, options):
    import time

    if isinstance(fn, str):
        fn = conformance.load(fn)
    start = time.perf_counter()
    try:
        results = conformance.check(fn, op, **options)
    except Exception as exc:  # noqa: BLE001 - a peer that cannot even be called is a finding
        return {"impl": impl, "op": op, "options": options, "error": f"{type(exc).__name__}: {exc}"}
    skipped = [r for r in results if r.status == "skip"]
    ok = [r for r in results if r.status == "ok"]
    return {
        "impl": impl,
        "op": op,
        "options": options,
        "about": results.about,
        "total": len(results),
        "passed": len(ok),
        "failed": len(results.failed),
        "skipped": len(skipped),
        "skip_reasons": sorted({r.detail.removeprefix("not implemented: ") for r in skipped}),
        "unchecked": sorted({u for r in ok for u in r.unchecked}),
        "worst_passing": max((r.worst_rel for r in ok), default=None),
        "first_failure": results.failed[0].id if results.failed else "",
        "failure_text": conformance.first_failure(results),
        "failures": [(r.id, r.detail) for r in results.failed],
        "table": conformance.format_results(op, impl, results),
        "seconds": time.perf_counter() - start,
    }


def _mode(row) -> str:
    about = row.get("about") or {}
    mode = f"{about.get('framework', '?')}, {about.get('dtype', '?')}"
    if about.get("layout") == "nhwc":
        mode += ", NHWC"
    if "rtol" in row["options"]:
        mode += f", fixed rtol {row['options']['rtol']:.0e}"
    return mode


def _meaning(row) -> str:
    note = NOTES.get((row["impl"], row["op"])) if row["options"].get("dtype") != "float32" else None
    return _outcome(row) + (f" {note}" if note else "")


def _outcome(row) -> str:
    if "error" in row:
        return "the kit could not call it: " + row["error"]
    if not row["failed"]:
        if not row["passed"]:
            return "no case within its options"
        extra = (
            f"; not checked: {', '.join(row['unchecked'])} (not computed)"
            if row["unchecked"]
            else ""
        )
        return (
            f"conforms on every case it supports (worst error {row['worst_passing']:.1e}){extra}."
        )
    table = MEANING_F32 if row["options"].get("dtype") == "float32" else MEANING
    case, sentence = table.get((row["impl"], row["op"]), ("", ""))
    if case != row["first_failure"]:
        return "not explained yet (see the details below)"
    return sentence


def _versions() -> str:
    names = ["numpy", "torch", "jax", "jaxlib", "tinygrad", "numpy-ml", "scipy"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def render(rows) -> str:
    lines = [
        "# What the conformance kit finds in code this project did not write",
        "",
        f"Generated by `python scripts/peers.py` on {datetime.date.today()} (Python "
        f"{platform.python_version()}; {_versions()}; tinygrad on its `{os.environ.get('DEV', '')}` "
        "device). Do not edit by hand: rerun the script.",
        "",
        "Each row runs `ref_cnn.conformance.check` (what `python -m ref_cnn check` runs) on one",
        "implementation and op through a thin adapter in `scripts/peers.py` that maps",
        "ref_cnn's signature onto the peer's API. The witness is torch's float64 autograd with a",
        "random upstream gradient; the bound is 1e-10 relative (norm-wise, NaN/inf placement",
        "first) unless the mode says otherwise. *skipped* counts the cases whose options the",
        "implementation does not offer (its adapter raises NotImplementedError; the reasons are",
        "in the details), not failures. `_backward` rows check a NumPy backward (dx, dw, db);",
        "torch and JAX rows check the forward and every gradient through autograd / `jax.vjp`.",
        "No peer here takes torch's unbatched (C, H, W) inputs or avg_pool2d's",
        "`divisor_override`; those cases are skipped for every implementation except torch.",
        "",
        "Setting up: numpy-ml 0.1.2 imports `collections.Hashable`, gone since Python 3.10;",
        "the script sets `collections.Hashable = collections.abc.Hashable` first. tinygrad's",
        "CPU device needs clang, which this machine lacks; its PYTHON device interprets the",
        "same kernels.",
        "",
        "| implementation | op | mode | passed | failed | skipped | first failing case | what it means |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['impl']} | `{row['op']}` | | | | | | {_meaning(row)} |")
            continue
        ran = row["passed"] + row["failed"]
        lines.append(
            f"| {row['impl']} | `{row['op']}` | {_mode(row)} | {row['passed']}/{ran} | "
            f"{row['failed']} | {row['skipped']} | {row['first_failure'] or '–'} | {_meaning(row)} |"
        )
    lines += ["", "## Details", ""]
    for row in rows:
        lines.append(f"### {row['impl']}: `{row['op']}`")
        lines.append("")
        if "error" in row:
            lines += [row["error"], ""]
            continue
        if row["skip_reasons"]:
            lines += ["Skipped (not offered): " + "; ".join(row["skip_reasons"]) + ".", ""]
        lines += ["```", row["table"], "```", ""]
        if len(row["failures"]) > 1:
            lines += ["Every failing case:", ""]
            lines += [f"- {case}: {detail}" for case, detail in row["failures"]]
            lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(RUNS)}")
    parser.add_argument("--no-install", action="store_true", help="use .peers-venv as it is")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help=f"rewrite --out from the last run's results ({LAST_RUN.relative_to(ROOT)}), "
        "e.g. after editing a sentence in MEANING",
    )
    args = parser.parse_args(argv)
    if not os.environ.get("REF_CNN_PEERS_INSIDE"):
        if not args.no_install:
            ensure_venv()
        return reexec_inside(sys.argv[1:] if argv is None else argv)
    if args.render_only:
        rows = json.loads(LAST_RUN.read_text(encoding="utf-8"))
        args.out.write_text(render(rows), encoding="utf-8")
        print(f"wrote {args.out} from {LAST_RUN}")
        return 0
    keys = args.only.split(",") if args.only else list(RUNS)
    rows = []
    for key in keys:
        for impl, op, fn, options in RUNS[key]:
            impl = impl.replace("{torch}", metadata.version("torch").split("+")[0])
            row = _check(impl, op, fn, options)
            rows.append(row)
            status = (
                row.get("error")
                or f"{row['passed']} ok, {row['failed']} failed, {row['skipped']} skipped"
            )
            print(f"{impl:45} {op:26} {status} ({row.get('seconds', 0):.1f} s)", flush=True)
    LAST_RUN.write_text(json.dumps(rows, default=str), encoding="utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
