"""The fully connected layer [AV-5, MB-11], torch's nn.Linear.

Parameter names and shapes are torch's (Linear.weight is (out, in), i.e. the article's W
transposed), so `grads()` lines up with `named_parameters()`.
"""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.nn.initialise import Redrawable, default_init
from ref_cnn.nn.module import Module


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
        self._keep_grads(weight=dw.T, bias=db)  # the article's ∂E/∂W (in, out) → torch's (out, in)
        return dx

    def extra_repr(self):
        return {"weight": self._params["weight"].shape}
