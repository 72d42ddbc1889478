"""What the kit knows about each op: its cases, its inputs, torch's and ref_cnn's versions.

An op is named by its forward function (`conv2d`). A NumPy target is either that forward
function or its backward (`conv2d_backward`, the signature of `ref_cnn.functional`); a torch
or JAX target is a forward function, and its gradients come from autograd / `jax.vjp`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ref_cnn import functional as F
from ref_cnn.conformance.cases import (
    ADAPTIVE_MAX_POOL_CASES,
    AVG_POOL_CASES,
    AVG_POOL_EXTRA_CASES,
    BATCH_NORM_CASES,
    CEIL_S1_POOL_CASES,
    CONV_CASES,
    CONV_TRANSPOSE_CASES,
    LINEAR_CASES,
    MAX_POOL_CASES,
    MAX_UNPOOL_CASES,
    PAD_CASES,
    TILE_CONV_CASES,
    TILE_CONV_TRANSPOSE_CASES,
    TILE_LINEAR_CASES,
    TILE_MAX_POOL_CASES,
    TILE_POOL_CASES,
    UNBATCHED_CONV_CASES,
    UNBATCHED_MAX_POOL_CASES,
)
from ref_cnn.functional.batchnorm import batch_norm_train, batch_norm_train_backward

Arrays = dict[str, "np.ndarray | None"]


@dataclass(frozen=True)
class Op:
    """args: the forward's array arguments in order (None where a case has no bias);
    backward_args: the arrays the NumPy backward takes after dy; grads: the names of what
    the backward returns, in order (d + argument name); spatial: arrays laid out NCHW."""

    name: str
    cases: list[dict]
    inputs: Callable[[dict, np.random.Generator], Arrays]
    torch_forward: Callable  # (torch, tensors in args order, **kw) → tensor
    forward: Callable  # ref_cnn's
    backward: Callable  # ref_cnn's
    args: tuple[str, ...]
    backward_args: tuple[str, ...]
    grads: tuple[str, ...]
    spatial: tuple[str, ...] = ("x",)
    weight_layout: str = ""  # "conv": w is (C_out, C_in/g, kH, kW) and moves with the layout
    # the size of a zero bias standing in for a missing one (the NumPy backward returns db)
    bias_size: Callable[[Arrays, dict], int] = lambda arrays, kw: arrays["w"].shape[0]
    integer_args: tuple[str, ...] = ()  # inputs with no gradient (indices)
    backward_kw: Callable[[dict], dict] = lambda kw: kw  # the options the backward takes
    nhwc: bool = True  # False: the options name NCHW axes (pad widths, flat indices)
    # array arguments passed by keyword after the options (a norm's weight after num_groups)
    keyword_args: tuple[str, ...] = ()
    zero_if_missing: tuple[str, ...] = ("b",)  # a missing one is a zero array for the witness
    # a keyword argument a target may lack (dropout's mask): such a target is called without
    # it, and a case where mask_needed(kw) holds is skipped for it
    optional_keyword: str = ""
    mask_needed: Callable[[dict], bool] = lambda kw: True
    unbatched_3d: bool = True  # a 3-D x is one unbatched (C, H, W) image, not (N, C, L)

    def differentiable(self, arrays: Arrays) -> list[str]:
        """Names of the inputs the case differentiates (present and floating)."""
        return [n for n in self.args if arrays.get(n) is not None and n not in self.integer_args]


def _conv_inputs(case, rng) -> Arrays:
    x, w = rng.standard_normal(case["x"]), rng.standard_normal(case["w"])
    b = rng.standard_normal(case["w"][0]) if case["bias"] else None
    return {"x": x, "w": w, "b": b}


def _torch_conv(torch, x, w, b, **kw):
    with warnings.catch_warnings():  # torch's note about even kernels with padding="same"
        warnings.simplefilter("ignore", UserWarning)
        return torch.nn.functional.conv2d(x, w, b, **kw)


def _pool_inputs(case, rng) -> Arrays:
    # ties: small integers, so windows share their maximum (torch: the first one wins)
    if case.get("ties"):
        return {"x": rng.integers(0, 3, case["x"]).astype(np.float64)}
    x = rng.standard_normal(case["x"])
    return {"x": -np.abs(x) - 0.5 if case.get("negative") else x}


def _linear_inputs(case, rng) -> Arrays:
    n, m, k = case["shape"]
    return {
        "x": rng.standard_normal((n, m)),
        "w": rng.standard_normal((m, k)),  # the article's (m, n): Z = Wᵀ·X + b
        "b": rng.standard_normal(k),
    }


def _batch_norm_inputs(case, rng) -> Arrays:
    c = case["x"][1]
    return {
        "x": rng.standard_normal(case["x"]) * 2 + 0.5,
        "weight": rng.standard_normal(c),
        "bias": rng.standard_normal(c),
    }


def _torch_batch_norm(torch, x, weight, bias, eps=1e-5):
    return torch.nn.functional.batch_norm(x, None, None, weight, bias, training=True, eps=eps)


def _bn_forward(x, weight, bias, eps=1e-5):
    return batch_norm_train(x, weight, bias, eps)[0]


def _transpose_inputs(case, rng) -> Arrays:
    x, w = rng.standard_normal(case["x"]), rng.standard_normal(case["w"])
    c_out = case["w"][1] * case["kw"].get("groups", 1)
    return {"x": x, "w": w, "b": rng.standard_normal(c_out) if case["bias"] else None}


def _pad_inputs(case, rng) -> Arrays:
    return {"x": rng.standard_normal(case["x"])}


def _unpool_inputs(case, rng) -> Arrays:
    """Pooled values and, for each (non-overlapping) window, one random position inside the
    unpooled plane: valid, distinct indices, as a max pool would return them."""
    kw = case["kw"]
    k = _pair(kw["kernel_size"])
    s = _pair(kw.get("stride") or kw["kernel_size"])
    p = _pair(kw.get("padding", 0))
    shape = case["x"]
    h, w = shape[-2:]
    size = kw.get("output_size") or [
        (n - 1) * st - 2 * pd + kk for n, st, pd, kk in zip((h, w), s, p, k, strict=True)
    ]
    out_h, out_w = size[-2:]
    index = np.empty(shape, np.int64)
    for pos in np.ndindex(*shape):
        i, j = pos[-2:]
        rows = range(max(i * s[0] - p[0], 0), min(i * s[0] - p[0] + k[0], out_h))
        cols = range(max(j * s[1] - p[1], 0), min(j * s[1] - p[1] + k[1], out_w))
        index[pos] = rng.choice(rows) * out_w + rng.choice(cols)
    return {"x": rng.standard_normal(shape), "indices": index}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _torch_transpose(torch, x, w, b, **kw):
    return torch.nn.functional.conv_transpose2d(x, w, b, **kw)


def _without_value(kw: dict) -> dict:
    return {k: v for k, v in kw.items() if k != "value"}


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op(
            "conv2d",
            CONV_CASES + UNBATCHED_CONV_CASES + TILE_CONV_CASES,
            _conv_inputs,
            _torch_conv,
            F.conv2d,
            F.conv2d_backward,
            args=("x", "w", "b"),
            backward_args=("x", "w"),
            grads=("dx", "dw", "db"),
            weight_layout="conv",
        ),
        Op(
            "max_pool2d",
            MAX_POOL_CASES + UNBATCHED_MAX_POOL_CASES + CEIL_S1_POOL_CASES + TILE_MAX_POOL_CASES,
            _pool_inputs,
            lambda torch, x, **kw: torch.nn.functional.max_pool2d(x, **kw),
            F.max_pool2d,
            F.max_pool2d_backward,
            args=("x",),
            backward_args=("x",),
            grads=("dx",),
        ),
        Op(
            "avg_pool2d",
            AVG_POOL_CASES + AVG_POOL_EXTRA_CASES + CEIL_S1_POOL_CASES + TILE_POOL_CASES,
            _pool_inputs,
            lambda torch, x, **kw: torch.nn.functional.avg_pool2d(x, **kw),
            F.avg_pool2d,
            F.avg_pool2d_backward,
            args=("x",),
            backward_args=("x",),
            grads=("dx",),
        ),
        Op(
            "linear",
            LINEAR_CASES + TILE_LINEAR_CASES,
            _linear_inputs,
            lambda torch, x, w, b: x @ w + b,
            F.linear,
            F.linear_backward,
            args=("x", "w", "b"),
            backward_args=("x", "w"),
            grads=("dx", "dw", "db"),
            spatial=(),
        ),
        Op(
            "batch_norm_train",
            BATCH_NORM_CASES,
            _batch_norm_inputs,
            _torch_batch_norm,
            _bn_forward,
            batch_norm_train_backward,
            args=("x", "weight", "bias"),
            backward_args=("x", "weight"),
            grads=("dx", "dweight", "dbias"),
        ),
        Op(
            "conv_transpose2d",
            CONV_TRANSPOSE_CASES + TILE_CONV_TRANSPOSE_CASES,
            _transpose_inputs,
            _torch_transpose,
            F.conv_transpose2d,
            F.conv_transpose2d_backward,
            args=("x", "w", "b"),
            backward_args=("x", "w"),
            grads=("dx", "dw", "db"),
            weight_layout="conv",  # (C_in, C_out/g, kH, kW) ↔ (kH, kW, C_out/g, C_in)
            bias_size=lambda arrays, kw: arrays["w"].shape[1] * kw.get("groups", 1),
        ),
        Op(
            "pad",
            PAD_CASES,
            _pad_inputs,
            lambda torch, x, **kw: torch.nn.functional.pad(x, **kw),
            F.pad,
            F.pad_backward,
            args=("x",),
            backward_args=("x",),
            grads=("dx",),
            backward_kw=_without_value,
            nhwc=False,  # the widths name the last axes
        ),
        Op(
            "adaptive_max_pool2d",
            ADAPTIVE_MAX_POOL_CASES,
            _pool_inputs,
            lambda torch, x, **kw: torch.nn.functional.adaptive_max_pool2d(x, **kw),
            F.adaptive_max_pool2d,
            F.adaptive_max_pool2d_backward,
            args=("x",),
            backward_args=("x",),
            grads=("dx",),
        ),
        Op(
            "max_unpool2d",
            MAX_UNPOOL_CASES,
            _unpool_inputs,
            lambda torch, x, indices, **kw: torch.nn.functional.max_unpool2d(x, indices, **kw),
            F.max_unpool2d,
            F.max_unpool2d_backward,
            args=("x", "indices"),
            backward_args=("x", "indices"),
            grads=("dx",),
            integer_args=("indices",),
            nhwc=False,  # the indices are flat positions in NCHW planes
        ),
    )
}

from ref_cnn.conformance.ops_modern import MODERN_OPS  # noqa: E402 - they build on Op

OPS.update((op.name, op) for op in MODERN_OPS)

# what `--op` accepts: every forward op and its NumPy backward
OP_NAMES = sorted([*OPS, *(f"{name}_backward" for name in OPS)])


def resolve(op: str) -> tuple[Op, bool]:
    """'conv2d' → (the conv op, False); 'conv2d_backward' → (the conv op, True)."""
    backward = op.endswith("_backward")
    spec = OPS.get(op.removesuffix("_backward"))
    if spec is None:
        raise ValueError(f"op must be one of {OP_NAMES}, got {op!r}")
    return spec, backward
