"""Containers: layers in order (torch's Sequential, with torch's child names), residual
blocks [MB-16, MB-17], inception-style concatenation [MB-18], and the identity."""

from __future__ import annotations

import numpy as np

from ref_cnn._fast.threads import elementwise
from ref_cnn.nn.activations import ReLU
from ref_cnn.nn.module import Module
from ref_cnn.nn.op_layer import _Stateless


class Sequential(Module):
    """Layers applied in order [MB-12]. Named steps are children (torch's names; "0", "1", …
    from the constructor, as torch's nn.Sequential); `step(layer)` adds an unnamed one, a
    stateless layer torch applies without a module (a shared ReLU, torch.flatten)."""

    def __init__(self, *layers: Module):
        super().__init__()
        self._path: list[Module] = []
        for i, layer in enumerate(layers):
            self.add(str(i), layer)

    @classmethod
    def of(cls, path: list[tuple[str | None, Module]]) -> Sequential:
        """The chain of `path`'s (name, layer) pairs; name None: an unnamed step."""
        seq = cls()
        for name, layer in path:
            seq.step(layer) if name is None else seq.add(name, layer)
        return seq

    def add(self, name: str, module: Module) -> Module:
        self._path.append(module)
        return super().add(name, module)

    def step(self, module: Module) -> Module:
        """Append a step that is not a child (no parameters of its own in `params()`)."""
        self._path.append(module)
        return module

    def __getitem__(self, i: int) -> Module:
        return self._path[i]

    def __len__(self) -> int:
        return len(self._path)

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self._path:
            m.train(mode)
        return self

    def forward(self, x):
        for layer in self._path:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self._path):
            dy = layer.backward(dy)
        return dy


class Identity(_Stateless):
    """y = x; passes the gradient through unchanged (torch's nn.Identity)."""

    def forward(self, x):
        return x

    def backward(self, dy):
        return dy


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b as a new array, block by block on ref_cnn's threads (`threads.elementwise`)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return a + b  # broadcasting or promotion: NumPy's rules, in one piece
    out = np.empty_like(a)
    elementwise(np.add, out, a, b)
    return out


class Residual(Module):
    """a = ψ(body(x) + shortcut(x)) [MB-16, MB-17].

    With no `downsample` the shortcut is the identity (MB-16); with one it is the
    projection W_s (MB-17: a 1×1 strided conv and BatchNorm in torchvision's ResNet).
    The body's children keep torch's names (conv1, bn1, …).
    """

    def __init__(
        self,
        body: list[tuple[str | None, Module]],
        downsample: Module | None = None,
        activation: Module | None = None,
    ):
        super().__init__()
        self.body = Sequential.of(body)
        for name, child in self.body.children():
            self.add(name, child)
        self.downsample = downsample
        if downsample is not None:
            self.add("downsample", downsample)
        self.activation = activation if activation is not None else ReLU()

    def train(self, mode: bool = True):
        super().train(mode)
        self.body.train(mode)
        return self

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample.forward(x)  # MB-17: W_s·a
        z = _add(self.body.forward(x), shortcut)  # MB-16: z + a^[i−2]
        return self.activation.forward(z)  # MB-16: ψ(·)

    def backward(self, dy):
        g = self.activation.backward(dy)
        dx = self.body.backward(g)
        return _add(dx, g if self.downsample is None else self.downsample.backward(g))


class Concat(Module):
    """Parallel branches concatenated along channels [MB-18], children named as torch's."""

    def __init__(self, branches: list[tuple[str, Module]]):
        super().__init__()
        for name, module in branches:
            self.add(name, module)
        self._sizes: list[int] = []

    def forward(self, x):
        outs = [m.forward(x) for _, m in self.children()]
        self._sizes = [o.shape[1] for o in outs]
        return np.concatenate(outs, axis=1)

    def backward(self, dy):
        self._need_forward(self._sizes or None)
        parts = np.split(dy, np.cumsum(self._sizes)[:-1], axis=1)
        return sum(
            m.backward(np.ascontiguousarray(p))
            for (_, m), p in zip(self.children(), parts, strict=True)
        )
