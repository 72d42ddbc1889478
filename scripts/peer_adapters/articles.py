"""The IC post's Convolution and MaxPooling classes and the AV article's listings, copied as
printed (`/work/shared/seeds/002_*`, `003_*`; re-indented where the page lost it), with
their adapters."""

from __future__ import annotations

import numpy as np

from peer_adapters.common import adapter, only, pair

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
    only("non-square kernels", w.shape[2] == w.shape[3])
    if padding == "valid":
        return 0
    if padding == "same":
        only("padding='same' with an even kernel", k % 2 == 1)
        return k // 2
    p = pair(padding)
    only("different row and column padding", p[0] == p[1])
    return p[0]


def _ic_layer(x, w, b, stride, padding, dilation, groups):
    only("stride, dilation and groups", pair(stride) == pair(dilation) == (1, 1) and groups == 1)
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
    k = pair(kernel_size)
    s = k if stride is None else pair(stride)
    only("a window other than a square one equal to the stride", k == s and k[0] == k[1])
    only("padding, dilation and ceil_mode", pair(padding) == (0, 0) and pair(dilation) == (1, 1))
    only("ceil_mode", not ceil_mode)
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
    only("more than one input channel", x.shape[1] == 1)
    only("stride, dilation and groups", pair(stride) == pair(dilation) == (1, 1) and groups == 1)
    only("padding", padding in (0, (0, 0), "valid"))


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
