"""A from_torch twin against torch: forward, input gradient, every parameter gradient and
every buffer after one step, in float64 (1e-10) or float32 (the rule of kinks.py)."""

from __future__ import annotations

import copy
import json
import os

import kinks
import numpy as np
from conftest import RTOL, n, optional, t

import ref_cnn

torch = optional("torch")


def _torch_run(module, x: np.ndarray, dy_seed: int) -> dict[str, np.ndarray]:
    """Forward and backward of `module` at x's dtype: every quantity by name, as float64."""
    xt = t(x, True)
    y = module(xt)
    dy = np.random.default_rng(dy_seed).standard_normal(tuple(y.shape)).astype(x.dtype)
    y.backward(t(dy))
    out = {"y": n(y), "dx": n(xt.grad), "_dy": dy}
    out.update({f"d{k}": n(p.grad) for k, p in module.named_parameters()})
    out.update({k: n(b) for k, b in module.named_buffers()})
    return {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in out.items()}


def check_twin(module, shape, dtype, parity, mode, rtol=None, seed=0, convert=None):
    """Forward, input gradient, every parameter gradient and every buffer after the step.

    float64: the reference is torch in float64 (witness "torch").

    float32: torch's float32 CPU kernels are themselves far from the exact value here
    (ResNet-18's input gradient in eval mode: 5e-3 relative, against 7e-7 for ref_cnn's
    float32), so the reference is float64. The forward output and the buffers are compared
    with torch's float64 run. The gradients are compared with ref_cnn's float64 twin whose
    backward takes the float32 run's own ReLU masks and max-pool argmaxes (kinks.py): a
    pre-activation within rounding of zero may land on either side in float32 depending on
    the BLAS kernel, and one flipped mask element would otherwise be a percent-level error
    in one channel's gradients (GoogLeNet on OpenBLAS's AVX-512 kernel). Every kink layer's
    float32 input must still agree with float64 to the bound that y is held to. The float32 bound is `rtol` or
    ten times torch's own float32 error on the same quantity against torch float64, whichever
    is larger: in training mode BatchNorm divides by the batch σ at every layer and float32
    rounding grows to ~1e-4 … 1e-3 through GoogLeNet in both libraries.

    `convert(module, dtype)` builds the twin (default `ref_cnn.from_torch`).
    With REF_CNN_F32_LOG=FILE, every float32 quantity's worst relative error (ref_cnn's and
    torch's own) and the number of flipped kink decisions are appended to FILE as JSON lines.
    """
    convert = convert or (lambda m, dt: ref_cnn.from_torch(m, dtype=dt))
    module = module.double().train(mode == "train")
    twin = convert(module, dtype)  # copied before the reference step
    twin64 = convert(module, np.float64) if dtype == np.float32 else None
    twin32 = copy.deepcopy(module).float() if dtype == np.float32 else None
    x = np.random.default_rng(seed).standard_normal(shape)
    ref = _torch_run(module, x, seed + 1)
    own = _torch_run(twin32, x.astype(np.float32), seed + 1) if twin32 is not None else {}
    witness = "torch" if dtype == np.float64 else "torch float64"
    log = os.environ.get("REF_CNN_F32_LOG")

    def same(name, ours, reference=None, against=witness):
        reference = ref[name] if reference is None else reference
        bound = rtol or RTOL[np.dtype(dtype)]
        if name in own:
            scale = max(np.abs(ref[name]).max(), 1e-300)
            torch_rel = np.abs(own[name] - ref[name]).max() / scale
            bound = max(bound, 10 * torch_rel)
            if log:  # the float32 errors of both libraries, for the README's table
                rel = np.abs(ours - reference).max() / max(np.abs(reference).max(), 1e-300)
                with open(log, "a", encoding="utf-8") as fh:
                    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
                    fh.write(json.dumps([test, name, float(rel), float(torch_rel)]) + "\n")
        parity(name, ours, reference.astype(ours.dtype), rtol=bound, witness=against)

    same("y", twin.forward(x.astype(dtype)))
    dy = ref["_dy"]
    if twin64 is None:
        same("dx", twin.backward(dy.astype(dtype)))
        grads, reference = twin.grads(), {}
    else:
        twin64.forward(x)
        # inputs of kink layers: to the bound that y is held to (torch's own y error × 10)
        torch_y = np.abs(own["y"] - ref["y"]).max() / max(np.abs(ref["y"]).max(), 1e-300)
        with kinks.follow_decisions(twin64, twin) as found:
            kinks.check(found, max(rtol or RTOL[np.dtype(dtype)], 10 * torch_y))
            if log:
                with open(log, "a", encoding="utf-8") as fh:
                    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
                    flips = sum(k.flipped for k in found)
                    fh.write(json.dumps([test, "flipped decisions", flips, None]) + "\n")
            at_decisions = {"dx": twin64.backward(dy)}
        at_decisions.update({f"d{k}": v for k, v in twin64.grads().items()})
        against = "float64 at float32's decisions"
        same("dx", twin.backward(dy.astype(dtype)), at_decisions["dx"], against)
        grads, reference = twin.grads(), at_decisions
    assert sorted(grads) == sorted(k for k, _ in module.named_parameters())
    for name in grads:
        if reference:
            same(f"d{name}", grads[name], reference[f"d{name}"], against)
        else:
            same(f"d{name}", grads[name])
    buffers = twin.buffers()
    assert sorted(buffers) == sorted(k for k, _ in module.named_buffers())
    for name, value in buffers.items():
        if value.dtype.kind == "f":
            same(name, value)
        else:
            np.testing.assert_array_equal(value, ref[name])
