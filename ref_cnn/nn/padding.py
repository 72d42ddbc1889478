"""Padding layers, as torch.nn's ZeroPad2d, ConstantPad2d, ReflectionPad2d,
ReplicationPad2d and CircularPad2d: `functional.pad` in that mode [MB-3]."""

from __future__ import annotations

import numbers

from ref_cnn import functional as F
from ref_cnn.nn.op_layer import _Stateless


def _four(padding) -> tuple[int, int, int, int]:
    """torch's padding argument: int p → (p, p, p, p), else (left, right, top, bottom)."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) != 4:
        raise ValueError(f"padding must be an int or (left, right, top, bottom), got {padding}")
    return padding


class _Pad2d(_Stateless):
    mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__(padding=_four(padding))
        self.value = value

    def forward(self, x):
        self._x = x
        value = self.value if self.mode == "constant" else None
        return F.pad(x, self.options["padding"], self.mode, value)

    def backward(self, dy):
        self._need_forward(self._x)
        return F.pad_backward(dy, self._x, self.options["padding"], self.mode)


class ConstantPad2d(_Pad2d):
    """Pad H and W with `value` (negative padding crops)."""

    def __init__(self, padding, value):
        super().__init__(padding, value)


class ZeroPad2d(_Pad2d):
    """Pad H and W with zeros [MB-3]."""


class ReflectionPad2d(_Pad2d):
    """Pad H and W by mirroring the border (the edge itself not repeated)."""

    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pad H and W by repeating the edge values."""

    mode = "replicate"


class CircularPad2d(_Pad2d):
    """Pad H and W by wrapping around (periodic)."""

    mode = "circular"
