"""Calling the function under test: NumPy, torch or JAX, NCHW or NHWC.

Each runner returns {output name: array, None (not computed, not checked) or a string
saying what is wrong}.

* NumPy: arrays in, arrays out. A forward target returns y; a backward target takes dy
  first and returns its gradients in `ref_cnn.functional`'s order (None for one it does not
  compute: that gradient is then reported as not checked).
* torch: the arrays go in as tensors with requires_grad; y.backward(dy) gives every gradient.
* JAX: `jax.vjp` of the function at the arrays, applied to dy (x64 enabled for float64).

Layouts: with "nhwc" every image-shaped array (x, y, dy, dx) is (N, H, W, C) and a conv
weight is (kH, kW, C_in/groups, C_out); the kit converts on the way in and back.
Linear's weight: NumPy and JAX targets take the article's (m, n) (`x @ w + b`); torch
targets take `torch.nn.functional.linear`'s (n, m) = wᵀ, and their dw is transposed back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ref_cnn.conformance.ops import Arrays, Op

FRAMEWORKS = ("auto", "numpy", "torch", "jax")
LAYOUTS = ("nchw", "nhwc")

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
    args = [to_layout(op, n, arrays[n], layout) for n in op.args]
    try:
        out = fn(*args, **kw)
    except Exception:  # noqa: BLE001 - maybe it wants tensors; try those before giving up
        try:
            import torch

            out = fn(*(None if a is None else torch.tensor(a) for a in args), **kw)
        except Exception:  # noqa: BLE001 - neither: let the real run report the error
            return "numpy"
    module = type(out).__module__.split(".")[0]
    return {"torch": "torch", "jax": "jax", "jaxlib": "jax"}.get(module, "numpy")


def run_numpy_forward(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str) -> dict:
    """{"y": output} of a NumPy forward function on one case."""
    out = fn(*(to_layout(op, n, arrays[n], layout) for n in op.args), **kw)
    if isinstance(out, tuple):  # e.g. (y, batch statistics): the first is the output
        out = out[0]
    return {"y": from_layout(op, "y", np.asarray(out), layout)}


def run_numpy_backward(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str) -> dict:
    """{gradient name: array} of a NumPy backward function on one case (a message
    in place of each array when it returns the wrong number of outputs).
    """
    args = [to_layout(op, n, arrays[n], layout) for n in op.backward_args]
    out = fn(to_layout(op, "y", dy, layout), *args, **op.backward_kw(kw))
    out = out if isinstance(out, tuple | list) else (out,)
    if len(out) != len(op.grads):
        message = f"returned {len(out)} outputs, expected {len(op.grads)} ({', '.join(op.grads)})"
        return dict.fromkeys(op.grads, message)
    return {
        name: None if g is None else from_layout(op, name, np.asarray(g), layout)
        for name, g in zip(op.grads, out, strict=True)
    }


def run_torch(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str) -> dict:
    """{"y", gradients} of a torch forward function on one case, gradients by autograd."""
    import torch

    present = [n for n in op.args if arrays[n] is not None]
    inputs = {n: to_layout(op, n, arrays[n], layout) for n in present}
    if op.name == "linear":
        inputs["w"] = np.ascontiguousarray(inputs["w"].T)  # F.linear's (n, m)
    grads = op.differentiable(arrays)
    tensors = {n: torch.tensor(a, requires_grad=n in grads) for n, a in inputs.items()}
    with warnings.catch_warnings():  # torch's note on padding="same" with an even kernel
        warnings.filterwarnings("ignore", "Using padding='same'", UserWarning)
        y = fn(*(tensors.get(n) for n in op.args), **kw)
    y.backward(torch.tensor(to_layout(op, "y", dy, layout)))
    out = {"y": from_layout(op, "y", y.detach().numpy(), layout)}
    for n in grads:
        t = tensors[n]
        if t.grad is None:
            out[f"d{n}"] = f"no gradient reached {n} (its .grad is None after y.backward(dy))"
            continue
        g = t.grad.numpy().T if n == "w" and op.name == "linear" else t.grad.numpy()
        out[f"d{n}"] = from_layout(op, f"d{n}", g, layout)
    return out


def run_jax(fn, op: Op, arrays: Arrays, dy, kw: dict, layout: str) -> dict:
    """{"y", gradients} of a JAX forward function on one case, gradients by jax.vjp."""
    import jax
    import jax.numpy as jnp

    if arrays["x"].dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    present = op.differentiable(arrays)
    fixed = {n: to_layout(op, n, arrays[n], layout) for n in op.args if n not in present}

    def forward(*values):
        given = {**fixed, **dict(zip(present, values, strict=True))}
        return fn(*(given.get(n) for n in op.args), **kw)

    y, vjp = jax.vjp(forward, *(jnp.asarray(to_layout(op, n, arrays[n], layout)) for n in present))
    grads = vjp(jnp.asarray(to_layout(op, "y", dy, layout), dtype=y.dtype))
    out = {"y": from_layout(op, "y", np.asarray(y), layout)}
    for n, g in zip(present, grads, strict=True):
        out[f"d{n}"] = from_layout(op, f"d{n}", np.asarray(g), layout)
    return out


RUNNERS = {"torch": run_torch, "jax": run_jax}
