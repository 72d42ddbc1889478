"""Normalisation layers, as torch.nn's: BatchNorm2d, LayerNorm, RMSNorm, GroupNorm,
InstanceNorm2d and LocalResponseNorm over `ref_cnn.functional` [NRM-n], and AV's
whole-batch Standardize. Parameters `weight` (γ) and `bias` (β) and buffers `running_mean`,
`running_var`, `num_batches_tracked` are named and shaped as torch's."""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn import functional as F
from ref_cnn.functional import batchnorm as bn
from ref_cnn.nn.module import Module
from ref_cnn.nn.op_layer import OpLayer


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
        self._keep_grads(weight=dw, bias=db)
        return dx


class _Affine(Module):
    """A normalisation with optional γ (ones) and β (zeros) of `shape`."""

    def __init__(self, shape, affine, bias, dtype):
        super().__init__()
        if affine:
            self.register("weight", np.ones(shape, dtype=dtype))
            if bias:
                self.register("bias", np.zeros(shape, dtype=dtype))
        self._x = None

    def _gamma_beta(self):
        return self._params.get("weight"), self._params.get("bias")


class LayerNorm(_Affine):
    """y = γ·(x − μ)/√(σ² + ε) + β over the trailing `normalized_shape` axes, as
    torch.nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)."""

    def __init__(
        self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=np.float64
    ):
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        super().__init__(self.normalized_shape, elementwise_affine, bias, dtype)

    def forward(self, x):
        self._x = x
        return F.layer_norm(x, self.normalized_shape, *self._gamma_beta(), self.eps)

    def backward(self, dy):
        self._need_forward(self._x)
        args = (self.normalized_shape, *self._gamma_beta(), self.eps)
        dx, dw, db = F.layer_norm_backward(dy, self._x, *args)
        self._keep_grads(weight=dw, bias=db)
        return dx

    def extra_repr(self):
        return {"normalized_shape": self.normalized_shape, "eps": self.eps}


class RMSNorm(_Affine):
    """y = γ·x/√(mean(x²) + ε) over the trailing `normalized_shape` axes, as
    torch.nn.RMSNorm(normalized_shape, eps=None, elementwise_affine) (eps None: the dtype's
    machine epsilon)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=np.float64):
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        super().__init__(self.normalized_shape, elementwise_affine, False, dtype)

    def forward(self, x):
        self._x = x
        return F.rms_norm(x, self.normalized_shape, self._params.get("weight"), self.eps)

    def backward(self, dy):
        self._need_forward(self._x)
        args = (self.normalized_shape, self._params.get("weight"), self.eps)
        dx, dw = F.rms_norm_backward(dy, self._x, *args)
        self._keep_grads(weight=dw, bias=None)
        return dx

    def extra_repr(self):
        return {"normalized_shape": self.normalized_shape, "eps": self.eps}


class GroupNorm(_Affine):
    """Normalise each of `num_groups` groups of channels per sample, then γ, β per channel,
    as torch.nn.GroupNorm(num_groups, num_channels, eps, affine, bias=)."""

    def __init__(
        self, num_groups, num_channels, eps=1e-5, affine=True, dtype=np.float64, bias=True
    ):
        if num_channels % num_groups:
            raise ValueError(
                f"num_channels={num_channels} must be divisible by num_groups={num_groups}"
            )
        self.num_groups, self.eps = num_groups, eps
        super().__init__(num_channels, affine, bias, dtype)

    def forward(self, x):
        self._x = x
        return F.group_norm(x, self.num_groups, *self._gamma_beta(), self.eps)

    def backward(self, dy):
        self._need_forward(self._x)
        args = (self.num_groups, *self._gamma_beta(), self.eps)
        dx, dw, db = F.group_norm_backward(dy, self._x, *args)
        self._keep_grads(weight=dw, bias=db)
        return dx

    def extra_repr(self):
        return {"num_groups": self.num_groups, "eps": self.eps}


class InstanceNorm2d(_Affine, _RunningStats):
    """Normalise each (n, c) plane over (H, W), as torch.nn.InstanceNorm2d(num_features,
    eps, momentum, affine, track_running_stats, bias=): the plane's own statistics in training
    mode or without running statistics, else the running ones; in training mode with
    running statistics they are updated as torch does (`functional.instance_norm_running`).
    Input (N, C, H, W) or one unbatched (C, H, W) sample."""

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_running_stats=False,
        dtype=np.float64,
        bias=True,
    ):
        self.eps, self.momentum, self.track = eps, momentum, track_running_stats
        super().__init__(num_features, affine, bias, dtype)
        if track_running_stats:
            self._register_running_stats(num_features, dtype)
        self._args = None

    def _batched(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected a 3-D or 4-D input, got shape {x.shape}")
        return x[None] if x.ndim == 3 else x

    def forward(self, x):
        self._x = x
        xb = self._batched(x)
        use_input_stats = self.training or not self.track
        momentum = 0.0 if self.momentum is None else self.momentum  # torch's None → 0
        rm, rv = self._buffers.get("running_mean"), self._buffers.get("running_var")
        self._args = (rm, rv, *self._gamma_beta(), use_input_stats, momentum, self.eps)
        y = F.instance_norm(xb, *self._args)
        if self.training and self.track:  # NRM-4's running update, in place as torch
            new_mean, new_var = F.instance_norm_running(xb, rm, rv, momentum)
            rm[...], rv[...] = new_mean, new_var  # (torch leaves num_batches_tracked at 0 here)
        return y.reshape(x.shape)

    def backward(self, dy):
        self._need_forward(self._x)
        xb = self._batched(self._x)
        dx, dw, db = F.instance_norm_backward(dy.reshape(xb.shape), xb, *self._args)
        self._keep_grads(weight=dw, bias=db)
        return dx.reshape(self._x.shape)

    def extra_repr(self):
        return {"eps": self.eps, "momentum": self.momentum, "track_running_stats": self.track}


class LocalResponseNorm(OpLayer):
    """x/(k + α/n·Σ x² over n neighbouring channels)^β, as torch.nn.LocalResponseNorm."""

    op = "local_response_norm"

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__(size=size, alpha=alpha, beta=beta, k=k)


class Standardize(OpLayer):
    """z = (v − mean(v))/std(v) over the whole batch: the step AV's code applies to Z2,
    here differentiated (`ref_cnn.functional.standardize`)."""

    op = "standardize"
