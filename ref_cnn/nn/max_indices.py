"""Max pooling that remembers where each maximum was, and its inverse [IC-8, MB-8].

`AdaptiveMaxPool2d` (torch's adaptive windows, optionally returning the indices) and
`MaxUnpool2d` (each pooled value back at its index, 0 elsewhere), as torch's modules.
"""

from __future__ import annotations

from ref_cnn import functional as F
from ref_cnn.nn.layers import _Stateless


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
