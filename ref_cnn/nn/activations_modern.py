"""Activation layers of modern CNNs, as torch.nn's: each the op of the same name in
`ref_cnn.functional` [ACT-n], with torch's arguments; PReLU holds its slopes `weight`."""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.nn.layers import Softmax, _Activation
from ref_cnn.nn.module import Module
from ref_cnn.nn.op_layer import OpLayer


class ReLU6(OpLayer):
    """min(max(0, x), 6), as torch.nn.ReLU6."""

    op = "relu6"


class Hardswish(OpLayer):
    """x·relu6(x + 3)/6 (MobileNetV3), as torch.nn.Hardswish."""

    op = "hardswish"


class Hardsigmoid(OpLayer):
    """relu6(x + 3)/6, as torch.nn.Hardsigmoid."""

    op = "hardsigmoid"


class SiLU(OpLayer):
    """x·σ(x), as torch.nn.SiLU."""

    op = "silu"


class Mish(OpLayer):
    """x·tanh(softplus(x)), as torch.nn.Mish."""

    op = "mish"


class SELU(OpLayer):
    """scale·(max(0, x) + min(0, α(eˣ − 1))) with SELU's fixed α and scale, as torch.nn.SELU."""

    op = "selu"


class LogSigmoid(OpLayer):
    """log σ(x), as torch.nn.LogSigmoid."""

    op = "logsigmoid"


class Softsign(OpLayer):
    """x/(1 + |x|), as torch.nn.Softsign."""

    op = "softsign"


class GELU(OpLayer):
    """x·Φ(x) (approximate="none") or its tanh form ("tanh"), as torch.nn.GELU."""

    op = "gelu"

    def __init__(self, approximate="none"):
        super().__init__(approximate=approximate)


class ELU(OpLayer):
    """x for x > 0, α(eˣ − 1) otherwise, as torch.nn.ELU."""

    op = "elu"

    def __init__(self, alpha=1.0):
        super().__init__(alpha=alpha)


class CELU(OpLayer):
    """max(0, x) + min(0, α(e^(x/α) − 1)), as torch.nn.CELU."""

    op = "celu"

    def __init__(self, alpha=1.0):
        super().__init__(alpha=alpha)


class Hardtanh(OpLayer):
    """clip(x, min_val, max_val), as torch.nn.Hardtanh."""

    op = "hardtanh"

    def __init__(self, min_val=-1.0, max_val=1.0):
        super().__init__(min_val=min_val, max_val=max_val)


class Softplus(OpLayer):
    """log(1 + e^(βx))/β, x itself where βx > threshold, as torch.nn.Softplus."""

    op = "softplus"

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta=beta, threshold=threshold)


class GLU(OpLayer):
    """a·σ(b) for the two halves a, b of x along `dim`, as torch.nn.GLU."""

    op = "glu"

    def __init__(self, dim=-1):
        super().__init__(dim=dim)


class LogSoftmax(_Activation):
    """log softmax along `dim`, as torch.nn.LogSoftmax (backward written on the output).
    dim=None is torch's legacy choice: axis 0 for 0-, 1- and 3-D input, else axis 1."""

    def __init__(self, dim=None):
        super().__init__(dim=dim)

    def _axis(self, x):
        if self.options["dim"] is not None:
            return self.options["dim"]
        return 0 if x.ndim in (0, 1, 3) else 1

    def forward(self, x):
        self._x = x
        self._y = F.log_softmax(x, self._axis(x))
        return self._y

    def backward(self, dy):
        self._need_forward(self._x)
        return F.log_softmax_backward(dy, self._y, self._axis(self._x))


class Softmax2d(Softmax):
    """softmax over the channels of (N, C, H, W) or (C, H, W) input (dim −3), as torch."""

    def __init__(self):
        super().__init__(dim=-3)

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got shape {x.shape}")
        return super().forward(x)


class PReLU(Module):
    """x for x > 0, a·x otherwise, a learned: one slope or one per channel (`weight`,
    torch's name and shape (num_parameters,)), as torch.nn.PReLU."""

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float64):
        super().__init__()
        self.register("weight", np.full(num_parameters, init, dtype=dtype))
        self._x = None

    def forward(self, x):
        self._x = x
        return F.prelu(x, self._params["weight"])

    def backward(self, dy):
        self._need_forward(self._x)
        dx, self._grads["weight"] = F.prelu_backward(dy, self._x, self._params["weight"])
        return dx

    def extra_repr(self):
        return {"num_parameters": self._params["weight"].size}
