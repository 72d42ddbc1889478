"""Calling the function under test: NumPy, torch or JAX, NCHW or NHWC.

Each runner returns {output name: array, None (not computed, not checked) or a string
saying what is wrong}.

* NumPy: arrays in, arrays out. A forward target returns y; a backward target takes dy
  first and returns its gradients in `ref_cnn.functional`'s order (None for one it does not
  compute: that gradient is then reported as not checked).
* torch: the arrays go in as tensors with requires_grad; y.backward(dy) gives every gradient.
* JAX: `jax.vjp` of the function at the arrays, applied to dy (x64 enabled for float64).

torch and JAX targets get their inputs on `Env.device` (cpu, cuda, mps, cuda:1, …) in
`Env.precision`; their outputs come back to the CPU as NumPy arrays.

Layouts: with "nhwc" every image-shaped array (x, y, dy, dx) is (N, H, W, C) and a conv
weight is (kH, kW, C_in/groups, C_out); the kit converts on the way in and back.
Linear's weight: NumPy and JAX targets take the article's (m, n) (`x @ w + b`); torch
targets take `torch.nn.functional.linear`'s (n, m) = wᵀ, and their dw is transposed back.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from ref_cnn.conformance.ops import Arrays, Op
from ref_cnn.conformance.precision import PRECISIONS, Precision

FRAMEWORKS = ("auto", "numpy", "torch", "jax")
LAYOUTS = ("nchw", "nhwc")


@dataclass(frozen=True)
class Env:
    """Where and how a torch or JAX target runs: its inputs' precision and device; tf32
    turns TF32 on for a float32 run (a tf32 precision turns it on by itself)."""

    precision: Precision
    device: str = "cpu"
    tf32: bool = False


CPU64 = Env(PRECISIONS["float64"])

# (N, C, H, W) ↔ (N, H, W, C); unbatched (C, H, W) ↔ (H, W, C); conv weights ↔ (kH, kW, ·, ·)
_TO_NHWC = {("image", 4): (0, 2, 3, 1), ("image", 3): (1, 2, 0), ("conv", 4): (2, 3, 1, 0)}
_FROM_NHWC = {("image", 4): (0, 3, 1, 2), ("image", 3): (2, 0, 1), ("conv", 4): (3, 2, 0, 1)}


def _kind(op: Op, name: str) -> str | None:
    """How an argument or output (named without or with its leading d) moves with the layout."""
    base = name[1:] if name.startswith("d") and name[1:] in op.args else name
    if base in op.spatial or base == "y":
        return "image"
    if base == "w" and op.weight_layout == "conv":
        return "conv"
    return None


def to_layout(op: Op, name: str, a, layout: str):
    """Array `name` of `op` from NCHW into `layout` (nhwc: channels last), for the target."""
    if a is None or layout == "nchw" or (kind := _kind(op, name)) is None:
        return a
    return np.ascontiguousarray(np.transpose(a, _TO_NHWC[kind, np.ndim(a)]))


def from_layout(op: Op, name: str, a, layout: str):
    """The inverse of `to_layout`: the target's array back to NCHW."""
    if a is None or layout == "nchw" or (kind := _kind(op, name)) is None:
        return a
    return np.transpose(a, _FROM_NHWC[kind, np.ndim(a)])


def _takes(fn: Callable, name: str) -> bool:
    """Whether fn accepts keyword `name` (True where its signature cannot be read)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def call_args(
    fn: Callable, op: Op, names, values: dict, kw: dict, strict=True
) -> tuple[list, dict]:
    """fn's positional arguments (`names` in order, values may be None) and its keywords: the
    options and the op's keyword arrays (a norm's weight, dropout's mask) that are present.
    strict=False drops a mask the target lacks instead of declining the case (a probe)."""
    positional = [values.get(n) for n in names if n not in op.keyword_args]
    keywords = {n: values[n] for n in names if n in op.keyword_args and values[n] is not None}
    name = op.optional_keyword
    if name in keywords and not _takes(fn, name):
        if strict and op.mask_needed(kw):
            raise NotImplementedError(
                f"the target takes no {name}= argument, so its random draws cannot be compared "
                f"(give it a {name} keyword to check these cases)"
            )
        del keywords[name]
    return positional, {**kw, **keywords}


def detect(fn: Callable) -> str:
    """numpy, torch or jax, from the module the function comes from (numpy when unknown)."""
    module = (getattr(fn, "__module__", None) or "").split(".")[0]
    if module == "torch":
        return "torch"
    if module in ("jax", "jaxlib", "flax"):
        return "jax"
    return "numpy"


def probe(fn: Callable, op: Op, arrays: Arrays, kw: dict, layout: str) -> str:
    """Call a forward target once with NumPy arrays: a jax Array back means JAX; an error
    that tensors cure means torch; otherwise NumPy."""
    values = {n: to_layout(op, n, arrays[n], layout) for n in op.args}
    try:
        args, keywords = call_args(fn, op, op.args, values, kw, strict=False)
        out = fn(*args, **keywords)
    except Exception:  # noqa: BLE001 - maybe it wants tensors; try those before giving up
        try:
            import torch

            tensors = {n: None if a is None else torch.tensor(a) for n, a in values.items()}
            args, keywords = call_args(fn, op, op.args, tensors, kw, strict=False)
            out = fn(*args, **keywords)
        except Exception:  # noqa: BLE001 - neither: let the real run report the error
            return "numpy"
    module = type(out).__module__.split(".")[0]
    return {"torch": "torch", "jax": "jax", "jaxlib": "jax"}.get(module, "numpy")


def run_numpy_forward(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str, env=None) -> dict:
    """{"y": output} of a NumPy forward function on one case."""
    values = {n: to_layout(op, n, arrays[n], layout) for n in op.args}
    args, keywords = call_args(fn, op, op.args, values, kw)
    out = fn(*args, **keywords)
    if isinstance(out, tuple):  # e.g. (y, batch statistics): the first is the output
        out = out[0]
    return {"y": from_layout(op, "y", np.asarray(out), layout)}


def run_numpy_backward(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str, env=None) -> dict:
    """{gradient name: array} of a NumPy backward function on one case (a message
    in place of each array when it returns the wrong number of outputs).
    """
    values = {n: to_layout(op, n, arrays[n], layout) for n in op.backward_args}
    args, keywords = call_args(fn, op, op.backward_args, values, op.backward_kw(kw))
    out = fn(to_layout(op, "y", dy, layout), *args, **keywords)
    out = out if isinstance(out, tuple | list) else (out,)
    if len(out) != len(op.grads):
        message = f"returned {len(out)} outputs, expected {len(op.grads)} ({', '.join(op.grads)})"
        return dict.fromkeys(op.grads, message)
    return {
        name: None if g is None else from_layout(op, name, np.asarray(g), layout)
        for name, g in zip(op.grads, out, strict=True)
    }


@contextmanager
def _tf32(torch, on: bool):
    """TF32 for CUDA matmuls and cuDNN convolutions on (tf32) or off (float32), then restored."""
    flags = (torch.backends.cuda.matmul, torch.backends.cudnn)
    old = [f.allow_tf32 for f in flags]
    # torch's test harness (imported with its OpInfo/ModuleInfo databases) forbids plain
    # assignments to cuDNN's flags; this is the context torch's own cudnn.flags() uses.
    mutable = getattr(torch.backends, "__allow_nonbracketed_mutation", nullcontext)
    with warnings.catch_warnings(), mutable():  # newer torch prefers fp32_precision
        warnings.simplefilter("ignore")
        for f in flags:
            f.allow_tf32 = on
        try:
            yield
        finally:
            for f, value in zip(flags, old, strict=True):
                f.allow_tf32 = value


def check_device(framework: str, device: str) -> str:
    """The device, checked once before the cases run: a clear error where it is missing."""
    if device == "cpu":
        return device
    if framework == "numpy":
        raise ValueError(
            f"--device {device}: a NumPy target runs where NumPy runs; --device places the "
            "inputs of torch and JAX targets (use --framework torch or jax, or drop --device)"
        )
    if framework == "jax":
        _jax_device(device)
        return device
    import torch

    try:
        torch.empty(1, device=torch.device(device))
    except (RuntimeError, AssertionError, ValueError) as exc:
        available = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            available.append("mps")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"device {device!r} is not available to torch here ({first}); "
            f"this machine has: {', '.join(available)}"
        ) from None
    return device


def _jax_device(device: str):
    import jax

    kind, _, index = device.partition(":")
    for name in (kind, {"cuda": "gpu", "gpu": "cuda"}.get(kind, kind)):
        try:
            return jax.devices(name)[int(index or 0)]
        except (RuntimeError, IndexError, ValueError):
            continue
    raise ValueError(
        f"device {device!r} is not available to JAX here; it has: "
        f"{', '.join(str(d) for d in jax.devices())}"
    )


def _torch_dtype(torch, p: Precision):
    return getattr(torch, p.torch)


def _from_torch(t, p: Precision):
    """A target's tensor back on the CPU as NumPy in p's storage dtype, or a message when its
    dtype does not follow the input's."""
    import torch

    if t.dtype != _torch_dtype(torch, p):
        return f"dtype {t.dtype}, expected {_torch_dtype(torch, p)} (the output follows the input)"
    t = t.detach().cpu()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def run_torch(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str, env: Env = CPU64) -> dict:
    """{"y", gradients} of a torch forward function on one case, gradients by autograd, with
    the inputs on env.device in env.precision (TF32 on for tf32, off for float32)."""
    import torch

    present = [n for n in op.args if arrays[n] is not None]
    inputs = {n: to_layout(op, n, arrays[n], layout) for n in present}
    if op.name == "linear":
        inputs["w"] = np.ascontiguousarray(inputs["w"].T)  # F.linear's (n, m)
    grads = op.differentiable(arrays)
    cast = _torch_dtype(torch, env.precision)

    def tensor(a, grad=False):
        t = torch.tensor(a)
        t = t.to(env.device, cast) if t.is_floating_point() else t.to(env.device)
        return t.requires_grad_(grad)

    tensors = {n: tensor(a, n in grads) for n, a in inputs.items()}
    tf32 = env.precision.tf32 or env.tf32
    with warnings.catch_warnings(), _tf32(torch, tf32):  # and torch's note on padding="same"
        warnings.filterwarnings("ignore", "Using padding='same'", UserWarning)
        args, keywords = call_args(fn, op, op.args, {n: tensors.get(n) for n in op.args}, kw)
        y = fn(*args, **keywords)
        y.backward(tensor(to_layout(op, "y", dy, layout)))
    y = _from_torch(y, env.precision)
    out = {"y": y if isinstance(y, str) else from_layout(op, "y", y, layout)}
    for n in grads:
        t = tensors[n]
        if t.grad is None:
            out[f"d{n}"] = f"no gradient reached {n} (its .grad is None after y.backward(dy))"
            continue
        g = _from_torch(t.grad, env.precision)
        if not isinstance(g, str):
            g = from_layout(op, f"d{n}", g.T if n == "w" and op.name == "linear" else g, layout)
        out[f"d{n}"] = g
    return out


def run_jax(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str, env: Env = CPU64) -> dict:
    """{"y", gradients} of a JAX forward function on one case, gradients by jax.vjp, with the
    inputs on env.device in env.precision."""
    import jax
    import jax.numpy as jnp

    if env.precision.name == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(env.precision.torch)
    device = _jax_device(env.device)

    def place(a):
        return jax.device_put(jnp.asarray(a, dtype=dtype), device)

    present = op.differentiable(arrays)
    fixed = {n: to_layout(op, n, arrays[n], layout) for n in op.args if n not in present}

    def forward(*values):
        given = {**fixed, **dict(zip(present, values, strict=True))}
        args, keywords = call_args(fn, op, op.args, {n: given.get(n) for n in op.args}, kw)
        return fn(*args, **keywords)

    y, vjp = jax.vjp(forward, *(place(to_layout(op, n, arrays[n], layout)) for n in present))
    grads = vjp(place(to_layout(op, "y", dy, layout)).astype(y.dtype))

    def back(a, name):
        if a.dtype != dtype:
            return f"dtype {a.dtype}, expected {dtype} (the output follows the input)"
        a = np.asarray(jax.device_get(a).astype(np.float32 if dtype == jnp.bfloat16 else dtype))
        return from_layout(op, name, a, layout)

    out = {"y": back(y, "y")}
    for n, g in zip(present, grads, strict=True):
        out[f"d{n}"] = back(g, f"d{n}")
    return out


RUNNERS = {"torch": run_torch, "jax": run_jax}
