"""The expected outputs of a case: torch autograd (float64) with a random upstream gradient.

Every output the kit compares is named: "y" for the forward, "dx", "dw", "db" (d + the
argument's name) for the gradients. Without torch installed, ref_cnn's own float64
forward/backward pair is the witness (it is itself held to torch at 1e-10 by the suite).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ref_cnn.conformance.ops import Arrays, Op


def torch_available() -> bool:
    """Whether torch imports here (the witness is torch where it does)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_outputs(
    op: Op, arrays: Arrays, kw: dict, make_dy: Callable, dtype: str | None = None
) -> dict[str, np.ndarray]:
    """y and every gradient through torch autograd on the CPU, in the arrays' dtype or in
    torch's `dtype` ("bfloat16", …; the results then come back as float32).

    make_dy(shape) → the upstream gradient (a NumPy array). A missing bias is a zero bias
    with a gradient, so that "db" exists for the NumPy backward (its sum over N, H, W).
    """
    import torch

    cast = getattr(torch, dtype) if dtype else None

    def tensor(a, grad=False):
        t = torch.tensor(a)
        if cast is not None and t.is_floating_point():
            t = t.to(cast)
        return t.requires_grad_(grad)

    def back(t):
        t = t.detach()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()

    tensors = {}
    for name in op.args:
        a = arrays[name]
        if a is None and name in op.zero_if_missing:  # no bias: a zero one, y unchanged
            a = np.zeros(op.bias_size(arrays, kw), arrays["x"].dtype)
        tensors[name] = None if a is None else tensor(a, name not in op.integer_args)
    y = op.torch_forward(torch, *tensors.values(), **kw)
    dy = make_dy(tuple(y.shape))
    y.backward(tensor(dy))
    out = {"y": back(y), "dy": dy}
    grads = [n for n, t in tensors.items() if t is not None and n not in op.integer_args]
    out.update({f"d{n}": back(tensors[n].grad) for n in grads})
    return out


def ref_cnn_outputs(op: Op, arrays: Arrays, kw: dict, make_dy: Callable) -> dict[str, np.ndarray]:
    """The same outputs from ref_cnn's forward/backward pair."""
    y = np.asarray(op.forward(*(arrays[name] for name in op.args), **kw))
    dy = make_dy(y.shape)
    grads = op.backward(dy, *(arrays[name] for name in op.backward_args), **op.backward_kw(kw))
    grads = grads if isinstance(grads, tuple) else (grads,)
    out = {"y": y, "dy": dy}
    out.update(zip(op.grads, grads, strict=True))
    return out


def outputs(
    op: Op, arrays: Arrays, kw: dict, make_dy: Callable, use_torch: bool
) -> dict[str, np.ndarray]:
    """The witness's output and gradients for one case: torch's, or ref_cnn's own."""
    return (torch_outputs if use_torch else ref_cnn_outputs)(op, arrays, kw, make_dy)
