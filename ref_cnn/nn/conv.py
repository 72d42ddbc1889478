"""Convolution layers [IC-4, MB-9, IC-7, IC-3, IC-11]: Conv2d and ConvTranspose2d, as torch's.

The layers hold the weights; every check and all geometry are the functional ops'
(`conv_geometry`, `transpose_geometry`), run once at construction on a probe input.
"""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn import functional as F
from ref_cnn._checks import pair
from ref_cnn.functional.conv import conv_geometry
from ref_cnn.functional.conv_transpose import transpose_geometry
from ref_cnn.nn.initialise import Redrawable, default_init
from ref_cnn.nn.module import Module

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _per_group(channels, groups) -> int:
    """channels // groups when groups is a positive int; else `channels`, so that the op's
    own check (run next) reports the bad groups."""
    ok = isinstance(groups, numbers.Integral) and not isinstance(groups, bool) and groups > 0
    return channels // groups if ok else channels


def _probe(channels, size, dtype) -> np.ndarray:
    """A one-sample input (1, channels, *size) for checking a layer's options by its op."""
    return np.zeros((1, channels, *size), dtype=dtype)


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
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        kernel = pair(kernel_size, "kernel_size", 1)
        self.options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        shape = (out_channels, _per_group(in_channels, groups), *kernel)
        weight, b = default_init(shape, rng, dtype)
        # conv2d's own checks, on the smallest input that has an output: bad options fail here
        span = [d * (k - 1) + 1 for k, d in zip(kernel, pair(dilation, "dilation", 1), strict=True)]
        g = conv_geometry(_probe(in_channels, span, dtype), weight, None, **self.options)
        self.pad = None  # zero padding: inside conv2d
        if padding_mode != "zeros":  # F.pad in that mode, then conv2d without padding, as torch
            (top, bottom), (left, right) = g.padding
            self.pad = (left, right, top, bottom), padding_mode  # [MB-3, MB-7]
            self.options["padding"] = 0
            if bias == "untied":
                raise ValueError("an untied bias needs padding_mode='zeros'")
        self.untied = bias == "untied"
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
        self._keep_grads(weight=dw, bias=db)
        return dx

    def extra_repr(self):
        mode = {} if self.pad is None else {"padding_mode": self.pad[1], "pad": self.pad[0]}
        return {
            "weight": self._params["weight"].shape,
            **self.options,
            **mode,
            "untied": self.untied,
        }


class ConvTranspose2d(Redrawable, Module):
    """Transposed convolution layer [IC-7, IC-3, IC-11], as torch.nn.ConvTranspose2d.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups,
            bias, dilation: as torch (torch's argument order).
        rng: numpy Generator for torch's default initialisation.

    Parameters: `weight` (C_in, C_out/groups, kH, kW), torch's layout; `bias` (C_out,).

    Shape: (N, C_in, H, W) → (N, C_out, H_out, W_out),
    H_out = (H − 1)·s − 2p + d·(kH − 1) + output_padding + 1.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        rng=None,
        dtype=np.float64,
    ):
        super().__init__()
        kernel = pair(kernel_size, "kernel_size", 1)
        self.options = dict(
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            groups=groups,
            dilation=dilation,
        )
        rng = rng if rng is not None else np.random.default_rng()
        shape = (in_channels, _per_group(out_channels, groups), *kernel)
        # torch computes fan_in from the weight's dimension 1: C_out/groups·kH·kW
        weight, _ = default_init(shape, rng, dtype)
        # conv_transpose2d's own checks on a probe whose output is not empty for any padding
        size = (
            (1 + 2 * max(pair(padding, "padding", 0)),) * 2
            if not isinstance(padding, str)
            else (1, 1)
        )
        g = transpose_geometry(_probe(in_channels, size, dtype), weight, None, **self.options)
        if g.c_out != out_channels:
            raise ValueError(f"groups={groups} must divide out_channels={out_channels}")
        self.register("weight", weight)
        if bias:  # U(−1/√fan_in, 1/√fan_in), one per output channel
            bound = 1 / np.sqrt(np.prod(shape[1:]))
            self.register("bias", rng.uniform(-bound, bound, out_channels).astype(dtype))
        self._x = None
        self._options = dict(self.options)  # this call's, with output_padding from output_size

    def forward(self, x, output_size=None):
        """y = conv_transpose2d(x, weight, bias) [IC-7].

        output_size: as torch's, the (H_out, W_out) wanted (or a shape ending in them), for a
        strided layer whose output size the input alone does not fix; it sets output_padding
        for this call (and its backward) to H_out − the smallest size, which must lie in
        [0, stride) (ValueError naming the valid range otherwise).
        """
        self._x = x
        self._options = dict(self.options)
        if output_size is not None:
            self._options["output_padding"] = self._output_padding(x, output_size)
        return F.conv_transpose2d(
            x, self._params["weight"], self._params.get("bias"), **self._options
        )

    def _output_padding(self, x, output_size) -> tuple[int, int]:
        """torch's ConvTranspose2d._output_padding: the output_padding giving output_size."""
        spatial = x.shape[-2:] if isinstance(x, np.ndarray) and x.ndim in (3, 4) else None
        if spatial is None:
            raise ValueError(f"x must be (N, C, H, W) or (C, H, W), got {getattr(x, 'shape', x)!r}")
        size = [int(v) for v in output_size]
        if len(size) == x.ndim:  # torch accepts the whole output shape too
            size = size[-2:]
        if len(size) != 2:
            raise ValueError(
                f"output_size must have 2 or {x.ndim} elements (H_out, W_out or the whole "
                f"output shape), got {len(size)}: {tuple(output_size)}"
            )
        x4 = x if x.ndim == 4 else x[None]
        g = transpose_geometry(
            x4, self._params["weight"], None, **self.options | {"output_padding": 0}
        )
        pads = []
        for a, want in enumerate(size):
            s, p, d, k = g.stride[a], g.padding[a], g.dilation[a], g.kernel[a]
            smallest = g.out_hw[a]  # the output size with output_padding 0
            if not smallest <= want < smallest + s:
                raise ValueError(
                    f"requested an output size of {tuple(size)}, but valid sizes along axis "
                    f"{2 + a} range from {smallest} to {smallest + s - 1} (for an input of "
                    f"{tuple(spatial)}, stride {s}, padding {p}, dilation {d}, kernel {k})"
                )
            pads.append(want - smallest)
        return tuple(pads)

    def backward(self, dy):
        self._need_forward(self._x)
        dx, dw, db = F.conv_transpose2d_backward(
            dy, self._x, self._params["weight"], **self._options
        )
        self._keep_grads(weight=dw, bias=db)
        return dx

    def extra_repr(self):
        return {"weight": self._params["weight"].shape, **self.options}
