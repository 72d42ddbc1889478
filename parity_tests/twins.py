"""A from_torch twin against torch: forward, input gradient, every parameter gradient and
every buffer after one step, in float64 (1e-10) or float32 (the rule of kinks.py)."""

from __future__ import annotations

import copy
import json
import os

import kinks
import numpy as np
from conftest import RTOL, Absent, n, optional, t

import ref_cnn
from ref_cnn._metric import compare, float32_bound

torch = optional("torch")
TORCH = not isinstance(torch, Absent)


class _KinkInputs(torch.overrides.TorchFunctionMode if TORCH else object):
    """Records the input of every ReLU and max-pool torch runs, in call order (F.relu from
    nn.ReLU or torchvision's BasicConv2d, F.max_pool2d from nn.MaxPool2d)."""

    NAMES = ("relu", "relu_", "max_pool2d")

    def __init__(self):
        super().__init__()
        self.inputs: list[np.ndarray] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.NAMES:
            self.inputs.append(n(args[0]).copy())  # before an in-place ReLU overwrites it
        return func(*args, **(kwargs or {}))


def _torch_run(module, x: np.ndarray, dy_seed: int) -> dict[str, np.ndarray]:
    """Forward and backward of `module` at x's dtype: every quantity by name, as float64,
    and under "_kinks" the inputs of its ReLUs and max-pools."""
    xt = t(x, True)
    with _KinkInputs() as seen:
        y = module(xt)
    dy = np.random.default_rng(dy_seed).standard_normal(tuple(y.shape)).astype(x.dtype)
    y.backward(t(dy))
    out = {"y": n(y), "dx": n(xt.grad), "_dy": dy}
    out.update({f"d{k}": n(p.grad) for k, p in module.named_parameters()})
    out.update({k: n(b) for k, b in module.named_buffers()})
    out = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in out.items()}
    return {**out, "_kinks": seen.inputs}


def _rel(ours, reference) -> float:
    return compare(ours, reference).rel_err  # the one metric (ref_cnn/_metric.py)


def _gradients_at(twin64, x, dy, decided):
    """dx and every parameter gradient of the float64 twin at `decided`'s kink decisions,
    and the kink layers found (kinks.Kink)."""
    twin64.forward(x)
    with kinks.follow_decisions(twin64, decided) as found:
        out = {"dx": twin64.backward(dy)}
    out.update({f"d{k}": v for k, v in twin64.grads().items()})
    return out, found


def check_twin(module, shape, dtype, parity, mode, rtol=None, seed=0, convert=None):
    """Forward, input gradient, every parameter gradient and every buffer after the step.

    float64: the reference is torch in float64 (witness "torch"), to 1e-10 (or `rtol`).

    float32: the reference is float64. The forward output and the buffers, continuous in
    the input, are compared with torch's float64 run. The gradients are not: a ReLU
    pre-activation (or a max-pool runner-up) within rounding of its kink lands on either
    side in float32 depending on the BLAS kernel's summation order, and one flipped mask
    element is a percent-level error in one channel's gradients (GoogLeNet on OpenBLAS's
    AVX-512 kernel; torch's own float32 flips one in this machine's GoogLeNet). So each
    library's float32 gradients are compared with ref_cnn's float64 twin run at that
    library's own decisions (kinks.py): ref_cnn's masks from its twin, torch's recorded
    from its ReLU and max-pool calls. Every kink layer's float32 input must agree with
    float64 to `rtol` or ten times torch's own error at that layer, so decisions differ only
    within rounding.

    The float32 bound on each quantity is `rtol` (default 2e-5) or ten times torch's own
    float32 error on it, whichever is larger: in training mode BatchNorm divides by the
    batch σ at every layer, and float32 rounding grows to ~1e-4 through GoogLeNet in both.

    `convert(module, dtype)` builds the twin (default `ref_cnn.from_torch`).
    With REF_CNN_F32_LOG=FILE, every float32 quantity's worst relative error (ref_cnn's and
    torch's own) and the number of flipped kink decisions are appended to FILE as JSON lines.
    """
    convert = convert or (lambda m, dt: ref_cnn.from_torch(m, dtype=dt))
    module = module.double().train(mode == "train")
    twin = convert(module, dtype)  # copied before the reference step
    twin64 = convert(module, np.float64)
    torch32 = copy.deepcopy(module).float()
    x = np.random.default_rng(seed).standard_normal(shape)
    ref = _torch_run(module, x, seed + 1)
    dy = ref["_dy"]
    floor = rtol or RTOL[np.dtype(dtype)]
    y = twin.forward(x.astype(dtype))
    if dtype == np.float64:
        grads = {"dx": twin.backward(dy), **{f"d{k}": v for k, v in twin.grads().items()}}
        refs = {k: (ref[k], "torch", floor) for k in ref if not k.startswith("_")}
    else:
        own = _torch_run(torch32, x.astype(np.float32), seed + 1)
        theirs, their_kinks = _gradients_at(twin64, x, dy, own["_kinks"])
        ours, our_kinks = _gradients_at(twin64, x, dy, twin)
        kinks.check(our_kinks, [float32_bound(k.input_error, floor) for k in their_kinks])
        grads = {"dx": twin.backward(dy.astype(dtype))}
        grads.update({f"d{k}": v for k, v in twin.grads().items()})
        refs = {}
        for k in ref:
            if k.startswith("_") or ref[k].dtype.kind != "f":
                continue
            if k in ours:  # a gradient: each library at its own decisions
                torch_rel = _rel(own[k], theirs[k])
                refs[k] = (
                    ours[k],
                    "float64 at float32's decisions",
                    float32_bound(torch_rel, floor),
                )
            else:  # y and the buffers: torch float64
                torch_rel = _rel(own[k], ref[k])
                refs[k] = (ref[k], "torch float64", float32_bound(torch_rel, floor))
            _log(k, _rel(y if k == "y" else {**grads, **twin.buffers()}[k], refs[k][0]), torch_rel)
        flips = [sum(k.flipped for k in found) for found in (our_kinks, their_kinks)]
        _log("flipped decisions", *flips)

    def same(name, value):
        reference, witness, bound = refs[name]
        parity(name, value, reference.astype(value.dtype), rtol=bound, witness=witness)

    same("y", y)
    same("dx", grads["dx"])
    assert sorted(twin.grads()) == sorted(k for k, _ in module.named_parameters())
    for name in twin.grads():
        same(f"d{name}", grads[f"d{name}"])
    buffers = twin.buffers()
    assert sorted(buffers) == sorted(k for k, _ in module.named_buffers())
    for name, value in buffers.items():
        if value.dtype.kind == "f":
            same(name, value)
        else:
            np.testing.assert_array_equal(value, ref[name])


def _log(name, ours, theirs) -> None:
    """One JSON line [test, quantity, ref_cnn's error, torch's] to $REF_CNN_F32_LOG, if set."""
    log = os.environ.get("REF_CNN_F32_LOG")
    if log:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps([test, name, ours, theirs]) + "\n")
