"""Layers over the functional ops [MB-9, MB-11, MB-12, IC-4, AV-5].

Parameter names and shapes are torch's (`weight`, `bias`; Linear.weight is (out, in),
i.e. the article's W transposed), so `grads()` lines up with `named_parameters()`.
"""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.functional.conv import conv_geometry
from ref_cnn.functional.shapes import same_padding
from ref_cnn.nn.initialise import Redrawable, default_init
from ref_cnn.nn.module import Module


class Conv2d(Redrawable, Module):
    """Convolutional layer [IC-4, MB-9]: y = Σ_j X_j ⋆ K_ij + B_i.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: as torch.
        bias: True (tied, one per channel), False, or "untied" (one per output position,
            as IC's code; needs `input_size` (H, W) to know the output size).
        padding_mode: "zeros" (MB-3), or "reflect", "replicate", "circular": the input is
            padded by `functional.pad` in that mode, then convolved without padding, as torch.
        rng: numpy Generator for torch's default initialisation (kaiming-uniform, a = √5).

    Shape: (N, C_in, H, W) → (N, C_out, H_out, W_out).

    Set `need_input_grad = False` on a layer that sees the network's input (which needs no
    gradient, as a torch input without `requires_grad`): its backward then fills the
    parameter gradients only and returns None, skipping the cost of ∂E/∂x (IC-7).
    """

    need_input_grad = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        input_size=None,
        rng=None,
        dtype=np.float64,
        padding_mode="zeros",
    ):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels and out_channels")
        self.options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        self.pad = _mode_padding(padding_mode, padding, (kh, kw), dilation)
        if self.pad is not None:  # the padding is done by F.pad, in that mode
            self.options["padding"] = 0
            if bias == "untied":
                raise ValueError("an untied bias needs padding_mode='zeros'")
        self.untied = bias == "untied"
        weight, b = default_init((out_channels, in_channels // groups, kh, kw), rng, dtype)
        self.register("weight", weight)
        if self.untied:
            if input_size is None:
                raise ValueError("an untied bias needs input_size=(H, W) to size the bias")
            probe = np.zeros((1, in_channels, *input_size), dtype=dtype)
            g = conv_geometry(probe, weight, None, **self.options)
            self.register("bias", np.zeros(g.out_shape[1:], dtype=dtype))  # IC's code: zeros
        elif bias:
            self.register("bias", b)
        self._x = None

    def forward(self, x):
        self._x = x
        w, b = self._params["weight"], self._params.get("bias")
        if self.untied:
            return F.conv2d_untied(x, w, b, **self.options)
        if self.pad is not None:
            x = F.pad(x, *self.pad)  # reflect / replicate / circular border
        return F.conv2d(x, w, b, **self.options)

    def backward(self, dy):
        self._need_forward(self._x)
        backward = F.conv2d_untied_backward if self.untied else F.conv2d_backward
        x = self._x if self.pad is None else F.pad(self._x, *self.pad)
        w, need_dx = self._params["weight"], self.need_input_grad
        dx, dw, db = backward(dy, x, w, **self.options, need_dx=need_dx)  # dx None if not need_dx
        if need_dx and self.pad is not None:  # back through the border: the positions it copied
            dx = F.pad_backward(dx, self._x, *self.pad)
        self._grads["weight"] = dw
        if "bias" in self._params:
            self._grads["bias"] = db
        return dx

    @property
    def fan_in(self) -> int:
        """Inputs feeding one output unit: C_in/groups·kH·kW [IC-12]."""
        return int(np.prod(self._params["weight"].shape[1:]))

    def extra_repr(self):
        mode = {} if self.pad is None else {"padding_mode": self.pad[1], "pad": self.pad[0]}
        return {
            "weight": self._params["weight"].shape,
            **self.options,
            **mode,
            "untied": self.untied,
        }


def _mode_padding(padding_mode, padding, kernel, dilation):
    """None for zero padding; else (pad for F.pad, mode): torch's
    `_reversed_padding_repeated_twice` (left, right, top, bottom) [MB-3, MB-7]."""
    modes = ("zeros", "reflect", "replicate", "circular")
    if padding_mode not in modes:
        raise ValueError(f"padding_mode must be one of {modes}, got {padding_mode!r}")
    if padding_mode == "zeros":
        return None
    d = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    if padding == "valid":
        pairs = [(0, 0), (0, 0)]
    elif padding == "same":
        pairs = [same_padding(k, dl) for k, dl in zip(kernel, d, strict=True)]
    else:
        p = (padding, padding) if isinstance(padding, int) else tuple(padding)
        p = p * 2 if len(p) == 1 else p
        pairs = [(p[0], p[0]), (p[1], p[1])]
    (top, bottom), (left, right) = pairs
    return (left, right, top, bottom), padding_mode


class Linear(Redrawable, Module):
    """Fully connected layer [AV-5, MB-11]: y = x·Wᵀ_torch + b = x·W_article + b.

    `weight` has torch's shape (out_features, in_features); the article's W is weight.T.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float64):
        super().__init__()
        weight, b = default_init((out_features, in_features), rng, dtype)
        self.register("weight", weight)
        if bias:
            self.register("bias", b)
        self._x = None

    def forward(self, x):
        self._x = x
        return F.linear(x, self._params["weight"].T, self._params.get("bias"))

    def backward(self, dy):
        self._need_forward(self._x)
        dx, dw, db = F.linear_backward(dy, self._x, self._params["weight"].T)
        self._grads["weight"] = dw.T  # the article's ∂E/∂W (in, out) → torch's (out, in)
        if "bias" in self._params:
            self._grads["bias"] = db
        return dx

    @property
    def fan_in(self) -> int:
        """Inputs feeding one output unit: in_features (weight is (out, in))."""
        return self._params["weight"].shape[1]

    def extra_repr(self):
        return {"weight": self._params["weight"].shape}


class _Stateless(Module):
    """A layer without parameters whose backward needs its input (or output)."""

    def __init__(self, **options):
        super().__init__()
        self.options = options
        self._x = self._y = None

    def extra_repr(self):
        return self.options


class MaxPool2d(_Stateless):
    """Max pooling [MB-8, IC-8]; options as torch's MaxPool2d.

    With return_indices, forward returns (y, indices) as torch's module does (the flat
    index h·W + w of each maximum in its input plane, for `MaxUnpool2d`); backward takes
    the gradient of y only.
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices=False,
        ceil_mode=False,
    ):
        super().__init__(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )
        self.return_indices = bool(return_indices)

    def extra_repr(self):
        return {**self.options, "return_indices": self.return_indices}

    def forward(self, x):
        self._x = x
        return F.max_pool2d(x, **self.options, return_indices=self.return_indices)

    def backward(self, dy):
        self._need_forward(self._x)
        return F.max_pool2d_backward(dy, self._x, **self.options)


class AvgPool2d(_Stateless):
    """Average pooling [MB-8, IC-9]; options as torch's AvgPool2d."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )

    def forward(self, x):
        self._x = x
        return F.avg_pool2d(x, **self.options)

    def backward(self, dy):
        self._need_forward(self._x)
        return F.avg_pool2d_backward(dy, self._x, **self.options)


class AdaptiveAvgPool2d(_Stateless):
    """Average over torch's adaptive windows [⌊i·H/out⌋, ⌈(i+1)·H/out⌉) for any output size."""

    def __init__(self, output_size):
        super().__init__(output_size=output_size)

    def forward(self, x):
        self._x = x
        return F.adaptive_avg_pool2d(x, self.options["output_size"])

    def backward(self, dy):
        self._need_forward(self._x)
        return F.adaptive_avg_pool2d_backward(dy, self._x, self.options["output_size"])


class Flatten(_Stateless):
    """(N, C, H, W) → (N, C·H·W) [AV-4, MB-11]."""

    def forward(self, x):
        self._x = x
        return F.flatten(x)

    def backward(self, dy):
        self._need_forward(self._x)
        return dy.reshape(self._x.shape)


class Identity(_Stateless):
    """y = x; passes the gradient through unchanged (torch's nn.Identity)."""

    def forward(self, x):
        return x

    def backward(self, dy):
        return dy


class _Activation(_Stateless):
    """An activation whose backward is written on its input (`on="x"`) or output ("y")."""

    fwd = bwd = None
    on = "y"

    def forward(self, x):
        self._x = x
        self._y = type(self).fwd(x, **self.options)
        return self._y

    def backward(self, dy):
        self._need_forward(self._x)
        return type(self).bwd(dy, self._y if self.on == "y" else self._x, **self.options)


class Sigmoid(_Activation):
    """σ(x) = 1/(1 + e^(−x)), backward A(1 − A) [AV-6]."""

    fwd, bwd = F.sigmoid, F.sigmoid_backward


class Tanh(_Activation):
    """tanh(x), backward (1 − y²)·δ written on the output (torch's nn.Tanh); a ψ of MB-9."""

    fwd, bwd = F.tanh, F.tanh_backward


class ReLU(_Activation):
    """max(0, x), backward δ where x > 0 (torch's nn.ReLU); the ψ of MB-9 and MB-16."""

    fwd, bwd, on = F.relu, F.relu_backward, "x"


class LeakyReLU(_Activation):
    """x for x > 0, negative_slope·x otherwise (torch's nn.LeakyReLU); a ψ of MB-9."""

    fwd, bwd, on = F.leaky_relu, F.leaky_relu_backward, "x"

    def __init__(self, negative_slope=0.01):
        super().__init__(negative_slope=negative_slope)


class Softmax(_Activation):
    """e^x / Σ e^x along `dim` (default 1, the classes), as torch's nn.Softmax."""

    fwd, bwd = F.softmax, F.softmax_backward

    def __init__(self, dim=1):
        super().__init__(axis=dim)


class Sequential(Module):
    """Layers applied in order [MB-12]; children are named "0", "1", … as in torch."""

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add(str(i), layer)

    def __getitem__(self, i: int) -> Module:
        return list(self._children.values())[i]

    def __len__(self) -> int:
        return len(self._children)

    def forward(self, x):
        for layer in self._children.values():
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(list(self._children.values())):
            dy = layer.backward(dy)
        return dy


class Standardize(_Stateless):
    """z = (v − mean(v))/std(v) over the whole batch: the step AV's code applies to Z2,
    here differentiated (`ref_cnn.functional.standardize`)."""

    def forward(self, x):
        self._x = x
        return F.standardize(x)

    def backward(self, dy):
        self._need_forward(self._x)
        return F.standardize_backward(dy, self._x)
