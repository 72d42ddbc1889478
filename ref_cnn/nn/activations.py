"""Activation layers, as torch.nn's: each the op of the same name in `ref_cnn.functional`
[AV-6, MB-9, ACT-n], with torch's arguments; PReLU holds its slopes `weight`."""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.nn.module import Module
from ref_cnn.nn.op_layer import OpLayer


class Sigmoid(OpLayer):
    """σ(x) = 1/(1 + e^(−x)), backward A(1 − A) [AV-6]."""

    op, on = "sigmoid", "y"


class Tanh(OpLayer):
    """tanh(x), backward (1 − y²)·δ written on the output (torch's nn.Tanh); a ψ of MB-9."""

    op, on = "tanh", "y"


class ReLU(OpLayer):
    """max(0, x), backward δ where x > 0 (torch's nn.ReLU); the ψ of MB-9 and MB-16."""

    op = "relu"


class LeakyReLU(OpLayer):
    """x for x > 0, negative_slope·x otherwise (torch's nn.LeakyReLU); a ψ of MB-9."""

    op = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        super().__init__(negative_slope=negative_slope)


class Softmax(OpLayer):
    """e^x / Σ e^x along `dim` (default 1, the classes), as torch's nn.Softmax."""

    op, on = "softmax", "y"

    def __init__(self, dim=1):
        super().__init__(axis=dim)


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


class _ImplicitDim(OpLayer):
    """softmax / log softmax along `dim`, backward written on the output. dim=None is
    torch's legacy implicit choice: axis 0 for 0-, 1- and 3-D input, else axis 1."""

    on = "y"

    def __init__(self, dim=None):
        super().__init__(dim=dim)

    def _axis(self, x):
        if self.options["dim"] is not None:
            return self.options["dim"]
        return 0 if x.ndim in (0, 1, 3) else 1

    def forward(self, x):
        self._x = x
        self._y = getattr(F, self.op)(x, self._axis(x))
        return self._y

    def backward(self, dy):
        self._need_forward(self._x)
        return getattr(F, f"{self.op}_backward")(dy, self._y, self._axis(self._x))


class LogSoftmax(_ImplicitDim):
    """log softmax along `dim`, as torch.nn.LogSoftmax."""

    op = "log_softmax"


class ImplicitDimSoftmax(_ImplicitDim):
    """torch.nn.Softmax built without `dim` (torch's legacy axis; nn.Softmax takes a dim)."""

    op = "softmax"


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
