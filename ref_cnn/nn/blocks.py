"""BatchNorm2d and the composite blocks: chains with torch's child names, residual blocks
[MB-16, MB-17] and inception-style concatenation [MB-18]."""

from __future__ import annotations

import numpy as np

from ref_cnn._fast.threads import elementwise
from ref_cnn.functional import batchnorm as bn
from ref_cnn.nn.layers import ReLU
from ref_cnn.nn.module import Module


class _RunningStats(Module):
    """A layer with torch's running-statistics buffers; `running_mean`/`running_var` follow
    `astype` with its parameters."""

    def _register_running_stats(self, num_features, dtype):
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))

    def astype(self, dtype):
        super().astype(dtype)
        for name in ("running_mean", "running_var"):
            if name in self._buffers:
                self._buffers[name] = self._buffers[name].astype(dtype)
        return self


class BatchNorm2d(_RunningStats):
    """Batch normalisation per channel, as torch.nn.BatchNorm2d (see `functional.batchnorm`).

    Parameters `weight` (γ) and `bias` (β) when affine (`bias=False`: γ alone, as torch);
    buffers `running_mean`, `running_var` and `num_batches_tracked`, updated in training mode
    exactly as torch does. An empty batch gives an empty result and leaves the running
    statistics as they were (torch counts the batch in `num_batches_tracked` all the same).
    """

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        dtype=np.float64,
        bias=True,
    ):
        super().__init__()
        self.eps, self.momentum, self.track = eps, momentum, track_running_stats
        if affine:
            self.register("weight", np.ones(num_features, dtype=dtype))
            if bias:
                self.register("bias", np.zeros(num_features, dtype=dtype))
        if track_running_stats:
            self._register_running_stats(num_features, dtype)
        self._x = None
        self._used_batch_stats = True

    def forward(self, x):
        self._x = x
        w, b = self._params.get("weight"), self._params.get("bias")
        self._used_batch_stats = self.training or not self.track
        if not self._used_batch_stats:
            return bn.batch_norm_eval(
                x, self._buffers["running_mean"], self._buffers["running_var"], w, b, self.eps
            )
        if self.training and self.track:
            self._buffers["num_batches_tracked"] += 1
        if x.size == 0:  # no values: nothing to normalise, no statistics to track
            return x.copy()
        y, mean, var = bn.batch_norm_train(x, w, b, self.eps)
        if self.training and self.track:
            count = x.shape[0] * x.shape[2] * x.shape[3]
            bn.update_running(
                self._buffers["running_mean"],
                self._buffers["running_var"],
                mean,
                var,
                count,
                self.momentum,
                int(self._buffers["num_batches_tracked"]),
            )
        return y

    def backward(self, dy):
        self._need_forward(self._x)
        w = self._params.get("weight")
        if self._x.size == 0:
            dx, dw, db = np.zeros_like(dy), np.zeros_like(w), np.zeros_like(w)
        elif self._used_batch_stats:
            dx, dw, db = bn.batch_norm_train_backward(dy, self._x, w, self.eps)
        else:
            dx, dw, db = bn.batch_norm_eval_backward(
                dy,
                self._x,
                self._buffers["running_mean"],
                self._buffers["running_var"],
                w,
                self.eps,
            )
        if w is not None:
            self._grads["weight"] = dw
        if "bias" in self._params:
            self._grads["bias"] = db
        return dx


class Chain(Module):
    """Layers applied in order; named ones are children (torch's names), unnamed ones are
    private stateless steps (a ReLU that torch applies through a shared module, a flatten
    that torch does with torch.flatten)."""

    def __init__(self, path: list[tuple[str | None, Module]]):
        super().__init__()
        self._path = []
        for name, module in path:
            if name is not None:
                self.add(name, module)
            self._path.append(module)

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self._path:
            m.train(mode)
        return self

    def forward(self, x):
        for m in self._path:
            x = m.forward(x)
        return x

    def backward(self, dy):
        for m in reversed(self._path):
            dy = m.backward(dy)
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
        self.body = Chain(body)
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
