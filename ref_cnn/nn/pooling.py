"""Pooling layers, as torch.nn's [MB-8, IC-8, IC-9]: max and average pooling, their adaptive
forms (torch's windows [⌊i·H/out⌋, ⌈(i+1)·H/out⌉)), LPPool2d, and MaxUnpool2d, the inverse
of max pooling (each pooled value back at its index, 0 elsewhere).
"""

from __future__ import annotations

from ref_cnn import functional as F
from ref_cnn.nn.op_layer import OpLayer, _Stateless


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


class AvgPool2d(OpLayer):
    """Average pooling [MB-8, IC-9]; options as torch's AvgPool2d."""

    op = "avg_pool2d"

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


class AdaptiveAvgPool2d(OpLayer):
    """Average over torch's adaptive windows [⌊i·H/out⌋, ⌈(i+1)·H/out⌉) for any output size."""

    op = "adaptive_avg_pool2d"

    def __init__(self, output_size):
        super().__init__(output_size=output_size)


class AdaptiveMaxPool2d(_Stateless):
    """Maximum over torch's adaptive windows [⌊i·H/out⌋, ⌈(i+1)·H/out⌉) [IC-8, MB-8].

    With return_indices, forward returns (y, indices) as torch's module does; backward
    takes the gradient of y only.
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size=output_size, return_indices=return_indices)

    def forward(self, x):
        self._x = x
        return F.adaptive_max_pool2d(x, **self.options)

    def backward(self, dy):
        self._need_forward(self._x)
        return F.adaptive_max_pool2d_backward(dy, self._x, self.options["output_size"])


class MaxUnpool2d(_Stateless):
    """Inverse of max pooling [IC-8], as torch.nn.MaxUnpool2d: forward(x, indices,
    output_size=None) puts each value back where its maximum was; backward(dy) → dx."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding)
        self._indices = self._output_size = None

    def forward(self, x, indices, output_size=None):
        self._x, self._indices, self._output_size = x, indices, output_size
        return F.max_unpool2d(x, indices, output_size=output_size, **self.options)

    def backward(self, dy):
        self._need_forward(self._x)
        return F.max_unpool2d_backward(
            dy, self._x, self._indices, output_size=self._output_size, **self.options
        )


class LPPool2d(OpLayer):
    """(Σ over each window of x^p)^(1/p), as torch.nn.LPPool2d."""

    op = "lp_pool2d"

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__(
            norm_type=norm_type, kernel_size=kernel_size, stride=stride, ceil_mode=ceil_mode
        )
