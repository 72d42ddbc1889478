"""The kit's ops of modern CNNs: activations, normalisation, spatial ops, dropout (cases_modern).

Array arguments after an option are passed by keyword (a norm's `weight`/`bias` after
`num_groups` or `normalized_shape`, dropout's `mask`), as torch's and ref_cnn's signatures
name them. Dropout, dropout2d and stochastic_depth take the keep-mask as `mask=` (ref_cnn's
convention: bool, the noise's shape or its compact form); a target without a `mask`
parameter (torch's own functions) runs the cases that draw nothing (p = 0, eval mode,
p = 1) and has the others skipped. The witness multiplies by the mask as torch does:
y = x·(m/(1 − p)).
"""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.conformance import cases_modern as C
from ref_cnn.conformance.ops import Arrays, Op


def _act_inputs(case, rng) -> Arrays:
    """Spread values, with the case's points written at both ends of the flattened input."""
    x = rng.standard_normal(case["x"]) * case.get("scale", 1.0) + case.get("shift", 0.0)
    points = np.asarray(case.get("points", ()), np.float64)
    flat = x.reshape(-1)
    if points.size:
        flat[: points.size] = points
        flat[-points.size :] = points[::-1]
    return {"x": x}


def _prelu_inputs(case, rng) -> Arrays:
    x = _act_inputs(case, rng)["x"]
    n = 1 if case["slopes"] == 1 else x.shape[1 if x.ndim > 1 else 0]
    return {"x": x, "weight": rng.uniform(-0.5, 0.5, n)}


def _norm_inputs(case, rng) -> Arrays:
    """x of spread 2 around the case's shift; weight and bias of the normalised shape (the
    trailing normalized_shape, else (C,)), or None without affine."""
    x = rng.standard_normal(case["x"]) * 2 + case.get("shift", 0.0)
    shape = case["kw"].get("normalized_shape") or (case["x"][1],)
    affine = case.get("affine", True)
    arrays = {
        "x": x,
        "weight": rng.standard_normal(shape) if affine else None,
        "bias": rng.standard_normal(shape) if affine else None,
    }
    running = case.get("running", False)  # instance norm's statistics (C,), when used
    arrays["running_mean"] = rng.standard_normal(shape) if running else None
    arrays["running_var"] = rng.uniform(0.5, 2.0, shape) if running else None
    return arrays


def _plain_inputs(case, rng) -> Arrays:
    x = rng.standard_normal(case["x"])
    if case.get("positive"):
        x = np.abs(x) + 0.1
    if case.get("tiny"):  # one row along dim 1 whose norm is below eps
        x[0, :, 0, 0] *= 1e-8
    return {"x": x}


def _noise_shape(name: str, x_shape, kw) -> tuple[int, ...]:
    if name == "dropout":
        return tuple(x_shape)
    if name == "dropout2d":
        return (*x_shape[:2], *(1,) * (len(x_shape) - 2))
    if kw["mode"] == "row":
        return (x_shape[0], *(1,) * (len(x_shape) - 1))
    return (1,) * len(x_shape)


def _drop_inputs(name: str):
    def inputs(case, rng) -> Arrays:
        x = rng.standard_normal(case["x"])
        shape = _noise_shape(name, x.shape, case["kw"])
        keep = 1.0 - case["kw"].get("p", 0.5)
        mask = {"ones": np.ones(shape, bool), "zeros": np.zeros(shape, bool)}.get(case["mask"])
        if mask is None:
            mask = rng.random(shape) < keep
        if case["mask"] == "compact":  # (N, C) for dropout2d, (N,) for a row
            mask = mask.reshape(shape[: 2 if name == "dropout2d" else 1])
        return {"x": x, "mask": mask}

    return inputs


def _draws(kw: dict) -> bool:
    """Whether the op is random on this case: training with 0 < p < 1."""
    return bool(kw.get("training", True)) and 0.0 < kw.get("p", 0.5) < 1.0


def _torch_dropout(name: str):
    """torch's op where it draws nothing; x·(m/(1 − p)) with the case's mask otherwise."""

    def forward(torch, x, mask, **kw):
        if not _draws(kw):
            if name == "stochastic_depth":  # torchvision's definition, without torchvision
                if not kw.get("training", True) or kw["p"] == 0.0:
                    return x
                return x * torch.zeros((1,) * x.ndim, dtype=x.dtype)
            return getattr(torch.nn.functional, name)(x, **kw)
        noise = mask.reshape(_noise_shape(name, x.shape, kw)).to(x.dtype)
        return x * noise.div_(1.0 - kw["p"])

    return forward


def _keywords(fn, names: tuple[str, ...]):
    """ref_cnn's function with the op's keyword arrays taken positionally (as the witness
    calls `Op.forward` and `Op.backward`)."""

    def positional(*args, **kw):
        k = len(args) - len(names)
        return fn(*args[:k], **dict(zip(names, args[k:], strict=True)), **kw)

    return positional


def _activation(name, cases, torch_forward=None) -> Op:
    return Op(
        name,
        cases,
        _act_inputs,
        torch_forward or (lambda torch, x, **kw: getattr(torch.nn.functional, name)(x, **kw)),
        getattr(F, name),
        getattr(F, f"{name}_backward"),
        args=("x",),
        backward_args=("x",),
        grads=("dx",),
    )


def _spatial(name, cases, inputs=_plain_inputs, nhwc=True, unbatched_3d=True) -> Op:
    return Op(
        name,
        cases,
        inputs,
        lambda torch, x, **kw: getattr(torch.nn.functional, name)(x, **kw),
        getattr(F, name),
        getattr(F, f"{name}_backward"),
        args=("x",),
        backward_args=("x",),
        grads=("dx",),
        nhwc=nhwc,
        unbatched_3d=unbatched_3d,
    )


def _affine_norm(name, cases, args=("x", "weight", "bias"), nhwc=False) -> Op:
    """A norm whose weight and bias follow an option: passed by keyword."""
    keyword = args[1:]
    return Op(
        name,
        cases,
        _norm_inputs,
        lambda torch, x, *arrays, **kw: getattr(torch.nn.functional, name)(
            x, **dict(zip(keyword, arrays, strict=True)), **kw
        ),
        _keywords(getattr(F, name), keyword),
        _keywords(getattr(F, f"{name}_backward"), keyword),
        args=args,
        backward_args=args,
        grads=tuple(f"d{n}" for n in args),
        keyword_args=keyword,
        zero_if_missing=(),
        nhwc=nhwc,  # normalized_shape names NCHW's trailing axes; group norm's 3-D x is (N, C, L)
        unbatched_3d=False,
    )


def _dropout(name, cases) -> Op:
    return Op(
        name,
        cases,
        _drop_inputs(name),
        _torch_dropout(name),
        _keywords(getattr(F, name), ("mask",)),
        _keywords(getattr(F, f"{name}_backward"), ("mask",)),
        args=("x", "mask"),
        backward_args=("x", "mask"),
        grads=("dx",),
        integer_args=("mask",),
        keyword_args=("mask",),
        optional_keyword="mask",
        mask_needed=_draws,
        nhwc=False,  # the mask's shape names NCHW axes
    )


def _hardsigmoid(torch, x):
    """ReLU6(x + 3)/6 [ACT-3]: torch's own float64 backward multiplies by 1/6 rounded to
    float32 (3·10⁻⁸ off), which the witness must not copy (docs/activations.md)."""
    return torch.nn.functional.relu6(x + 3) / 6


MODERN_OPS = (
    _activation("relu6", C.RELU6_CASES),
    _activation("hardtanh", C.HARDTANH_CASES),
    _activation("hardsigmoid", C.HARDSIGMOID_CASES, _hardsigmoid),
    _activation("hardswish", C.HARDSWISH_CASES),
    _activation("silu", C.SILU_CASES),
    _activation("gelu", C.GELU_CASES),
    _activation("elu", C.ELU_CASES),
    _activation("selu", C.SELU_CASES),
    _activation("celu", C.CELU_CASES),
    _activation("softplus", C.SOFTPLUS_CASES),
    _activation("mish", C.MISH_CASES),
    _activation("logsigmoid", C.LOGSIGMOID_CASES),
    _activation("softsign", C.SOFTSIGN_CASES),
    Op(
        "prelu",
        C.PRELU_CASES,
        _prelu_inputs,
        lambda torch, x, weight: torch.nn.functional.prelu(x, weight),
        F.prelu,
        F.prelu_backward,
        args=("x", "weight"),
        backward_args=("x", "weight"),
        grads=("dx", "dweight"),
    ),
    _spatial("glu", C.GLU_CASES, _act_inputs, nhwc=False),  # dim names an NCHW axis
    _affine_norm("layer_norm", C.LAYER_NORM_CASES),
    _affine_norm("rms_norm", C.RMS_NORM_CASES, ("x", "weight")),
    _affine_norm("group_norm", C.GROUP_NORM_CASES),
    Op(
        "instance_norm",
        C.INSTANCE_NORM_CASES,
        _norm_inputs,
        lambda torch, *arrays, **kw: torch.nn.functional.instance_norm(*arrays, **kw),
        F.instance_norm,
        F.instance_norm_backward,
        args=("x", "running_mean", "running_var", "weight", "bias"),
        backward_args=("x", "running_mean", "running_var", "weight", "bias"),
        grads=("dx", "dweight", "dbias"),
        integer_args=("running_mean", "running_var"),  # buffers: no gradient
        zero_if_missing=(),
        nhwc=False,  # a 3-D x is (N, C, L), not an unbatched image
        unbatched_3d=False,
    ),
    _spatial("local_response_norm", C.LOCAL_RESPONSE_NORM_CASES, nhwc=False, unbatched_3d=False),
    _spatial("normalize", C.NORMALIZE_CASES, nhwc=False),  # dim names an NCHW axis
    _spatial("lp_pool2d", C.LP_POOL_CASES),
    _spatial("channel_shuffle", C.CHANNEL_SHUFFLE_CASES, nhwc=False, unbatched_3d=False),
    _spatial("pixel_shuffle", C.PIXEL_SHUFFLE_CASES),
    _spatial("pixel_unshuffle", C.PIXEL_UNSHUFFLE_CASES),
    _spatial("interpolate", C.INTERPOLATE_CASES, unbatched_3d=False),  # 3-D: linear, (N, C, L)
    _dropout("dropout", C.DROPOUT_CASES),
    _dropout("dropout2d", C.DROPOUT2D_CASES),
    _dropout("stochastic_depth", C.STOCHASTIC_DEPTH_CASES),
)
