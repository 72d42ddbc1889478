"""The layer without parameters over one functional op: y = F.<op>(x, **options), and its
backward F.<op>_backward(dy, x or y, **options) (the backward rule of docs/API.md)."""

from __future__ import annotations

from ref_cnn import functional as F
from ref_cnn.nn.module import Module


class _Stateless(Module):
    """A layer without parameters whose backward needs its input (or output)."""

    def __init__(self, **options):
        super().__init__()
        self.options = options
        self._x = self._y = None

    def extra_repr(self):
        return self.options


class OpLayer(_Stateless):
    """A parameterless layer over `ref_cnn.functional.<op>`; options are the op's keyword
    arguments, named as torch's (they show in repr). `on = "y"` for an op whose backward is
    written on its output (sigmoid, tanh, softmax: cheaper than recomputing it)."""

    op = ""
    on = "x"

    def forward(self, x):
        self._x = x
        y = getattr(F, self.op)(x, **self.options)
        self._y = y if self.on == "y" else None  # kept only where the backward reads it
        return y

    def backward(self, dy):
        self._need_forward(self._x)
        at = self._y if self.on == "y" else self._x
        return getattr(F, f"{self.op}_backward")(dy, at, **self.options)
