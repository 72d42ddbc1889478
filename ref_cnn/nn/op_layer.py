"""The thin layer over one functional op: y = F.<op>(x, **options), and its backward
F.<op>_backward(dy, x, **options) (the backward rule of docs/API.md)."""

from __future__ import annotations

from ref_cnn import functional as F
from ref_cnn.nn.layers import _Stateless


class OpLayer(_Stateless):
    """A parameterless layer over `ref_cnn.functional.<op>`; options are the op's keyword
    arguments, named as torch's (they show in repr)."""

    op = ""

    def forward(self, x):
        self._x = x
        return getattr(F, self.op)(x, **self.options)

    def backward(self, dy):
        self._need_forward(self._x)
        return getattr(F, f"{self.op}_backward")(dy, self._x, **self.options)
