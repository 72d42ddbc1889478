"""torchvision's SqueezeExcitation (Hu et al. 2018): y = x·s(x), with the channel scale
s = σ(fc2(δ(fc1(avgpool(x))))), fc1 and fc2 1×1 convolutions. Children keep torchvision's
names (avgpool, fc1, activation, fc2, scale_activation)."""

from __future__ import annotations

from ref_cnn.nn.module import Module


class SqueezeExcitation(Module):
    """y = x·s, s = scale_activation(fc2(activation(fc1(avgpool(x))))) of shape (N, C, 1, 1).

    Backward: ∂E/∂x = dy·s + (the scale's branch, back from ∂E/∂s = Σ_(h,w) dy·x).
    """

    NAMES = ("avgpool", "fc1", "activation", "fc2", "scale_activation")

    def __init__(self, avgpool, fc1, activation, fc2, scale_activation):
        super().__init__()
        for name, module in zip(
            self.NAMES, (avgpool, fc1, activation, fc2, scale_activation), strict=True
        ):
            self.add(name, module)
        self._x = self._s = None

    def forward(self, x):
        s = x
        for _, m in self.children():
            s = m.forward(s)  # the scale, one per channel
        self._x, self._s = x, s
        return s * x

    def backward(self, dy):
        self._need_forward(self._x)
        ds = (dy * self._x).sum(axis=(-2, -1), keepdims=True)  # ∂E/∂s = Σ_(h,w) dy·x
        for _, m in reversed(list(self.children())):
            ds = m.backward(ds)
        return dy * self._s + ds
