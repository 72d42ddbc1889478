"""Transposed convolution layer [IC-7, IC-3, IC-11], torch's ConvTranspose2d.

The forward pass is `functional.conv_transpose2d` (the input gradient of a convolution,
IC-7, applied to x); its backward pass is a convolution again.
"""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn._checks import pair
from ref_cnn.functional.conv_transpose import transpose_output_size
from ref_cnn.nn.initialise import Redrawable, default_init
from ref_cnn.nn.module import Module


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
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels and out_channels")
        self.options = dict(
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            groups=groups,
            dilation=dilation,
        )
        rng = rng if rng is not None else np.random.default_rng()
        shape = (in_channels, out_channels // groups, kh, kw)
        # torch computes fan_in from the weight's dimension 1: C_out/groups·kH·kW
        weight, _ = default_init(shape, rng, dtype)
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
        stride = pair(self.options["stride"], "stride", 1)
        padding = pair(self.options["padding"], "padding", 0)
        dilation = pair(self.options["dilation"], "dilation", 1)
        pads = []
        for a, (h, want) in enumerate(zip(spatial, size, strict=True)):
            s, p, d = stride[a], padding[a], dilation[a]
            k = self._params["weight"].shape[2 + a]
            smallest = transpose_output_size(h, k, s, p, 0, d)  # output_padding 0
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
        self._grads["weight"] = dw
        if "bias" in self._params:
            self._grads["bias"] = db
        return dx

    @property
    def fan_in(self) -> int:
        """torch's fan_in of this weight: its dimension 1 times the kernel, C_out/groups·kH·kW."""
        return int(np.prod(self._params["weight"].shape[1:]))

    def extra_repr(self):
        return {"weight": self._params["weight"].shape, **self.options}
