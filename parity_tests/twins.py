"""A from_torch twin against torch: forward, input gradient, every parameter gradient and
every buffer after one step, in float64 (1e-10) or float32 (the rule of kinks.py)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections import deque

import kinks
import numpy as np
from helpers import RTOL, Absent, n, optional, t

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


def outputs(y) -> dict[str, object]:
    """{name: output}: "y" for one output, "y.<field>" for each of a namedtuple's (GoogLeNet's
    logits, aux_logits2, aux_logits1) or "y.<i>" of a tuple."""
    if not isinstance(y, tuple | list):
        return {"y": y}
    fields = getattr(y, "_fields", None) or [str(i) for i in range(len(y))]
    return {f"y.{f}": v for f, v in zip(fields, y, strict=True)}


def _torch_run(module, x: np.ndarray, dy_seed: int, channels_last=False) -> dict[str, np.ndarray]:
    """Forward and backward of `module` at x's dtype: every quantity by name, as float64,
    under "_dy" the upstream gradient(s) (one per output) and under "_kinks" the inputs of
    its ReLUs and max-pools."""
    xt = t(x, True)
    torch.manual_seed(dy_seed)  # dropout masks: the same draws for the float64 and float32 runs
    with _KinkInputs() as seen:
        y = module(xt.contiguous(memory_format=torch.channels_last) if channels_last else xt)
    ys = outputs(y)
    rng = np.random.default_rng(dy_seed)
    dys = [rng.standard_normal(tuple(v.shape)).astype(x.dtype) for v in ys.values()]
    torch.autograd.backward(list(ys.values()), [t(d) for d in dys])
    out = {k: n(v) for k, v in ys.items()}
    out.update({"dx": n(xt.grad), "_dy": dys})
    for k, p in module.named_parameters():  # None where no output used it (an aux head in eval)
        out[f"d{k}"] = n(p.grad) if p.grad is not None else np.zeros(tuple(p.shape), x.dtype)
    out.update({k: n(b) for k, b in module.named_buffers()})
    out = {
        k: v.astype(np.float64) if k != "_dy" and v.dtype.kind == "f" else v for k, v in out.items()
    }
    return {**out, "_kinks": seen.inputs}


def _rel(ours, reference) -> float:
    return compare(ours, reference).rel_err  # the one metric (ref_cnn/_metric.py)


def _zero_by_construction(name, refs, torch_rel, floor):
    """For a bias gradient that is 0 in exact arithmetic (a BatchNorm's β or a conv bias before
    a training-mode BatchNorm), both libraries return rounding noise, and torch's own two runs
    share no digit (relative spread ≥ 0.1): noise against noise has no meaningful relative
    error. The witness is then the exact value 0, at `floor` relative to the size of the same
    layer's weight gradient, whose terms the bias gradient sums with other factors."""
    sibling = name[: -len(".bias")] + ".weight" if name.endswith(".bias") else None
    if sibling not in refs or torch_rel < 0.1:
        return None
    value, scale = refs[name][0], float(np.max(np.abs(refs[sibling][0])))
    if float(np.max(np.abs(value))) > floor * scale:  # not noise: keep torch's spread
        return None
    bound = floor * scale / max(float(np.max(np.abs(value))), np.finfo(np.float64).tiny)
    return value, f"exact 0 (zero by construction), to {floor:.0e} of |{sibling}|", bound


@contextlib.contextmanager
def _recording(module):
    """Yields {torch module name: [masks]}: the dropout masks `module` draws inside."""
    masks: dict[str, list] = {}
    with ref_cnn.shared_randomness(module, None) as session:
        yield masks
    masks.update({k: list(v) for k, v in session.masks.items()})


@contextlib.contextmanager
def _replaying(module, masks):
    """A twin's forward inside takes the masks torch drew (`_recording`), in call order."""
    with ref_cnn.shared_randomness(module, None) as session:
        session.masks.update({k: deque(v) for k, v in masks.items()})
        yield


def _gradients_at(twin64, x, dy, decided, replay):
    """dx and every parameter gradient of the float64 twin at `decided`'s kink decisions,
    and the kink layers found (kinks.Kink)."""
    with replay():
        twin64.forward(x)
    with kinks.follow_decisions(twin64, decided) as found:
        out = {"dx": twin64.backward(*dy)}
    out.update({f"d{k}": v for k, v in twin64.grads().items()})
    return out, found


def check_twin(
    module, shape, dtype, parity, mode, rtol=None, seed=0, convert=None, torch_spread=False
):
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
    `torch_spread` (float64): torch runs a second time in channels-last memory order (its
    other summation order), and each quantity's bound is `rtol` or ten times torch's own
    spread between the two runs, whichever is larger: a gradient that is zero by
    construction (a BatchNorm's β followed by a linear map and a training-mode BatchNorm)
    is rounding noise in both libraries, and its relative error is O(1) between torch's
    own two runs. The float32 rule, with torch's other order as the witness.
    With REF_CNN_F32_LOG=FILE, every float32 quantity's worst relative error (ref_cnn's and
    torch's own) and the number of flipped kink decisions are appended to FILE as JSON lines.
    """
    convert = convert or (lambda m, dt: ref_cnn.from_torch(m, dtype=dt))
    module = module.double().train(mode == "train")
    twin = convert(module, dtype)  # copied before the reference step
    f32 = dtype != np.float64  # the float32 rule's extra models, only where it applies
    twin64 = convert(module, np.float64) if f32 else None
    torch32 = copy.deepcopy(module).float() if f32 else None
    spread = torch_spread and not f32
    other = copy.deepcopy(module).to(memory_format=torch.channels_last) if spread else None
    x = np.random.default_rng(seed).standard_normal(shape)
    with _recording(module) as masks:  # training mode: torch's dropout masks, for the twins
        ref = _torch_run(module, x, seed + 1)
    dy = ref["_dy"]
    floor = rtol or RTOL[np.dtype(dtype)]

    def replay():
        return _replaying(module, masks)

    with replay():
        ys = outputs(twin.forward(x.astype(dtype)))
    if dtype == np.float64:
        grads = {"dx": twin.backward(*dy), **{f"d{k}": v for k, v in twin.grads().items()}}
        refs = {k: (ref[k], "torch", floor) for k in ref if not k.startswith("_")}
        if other is not None:
            with _recording(other):
                spread = _torch_run(other, x, seed + 1, channels_last=True)
            for k, (value, _, _) in refs.items():
                if value.dtype.kind == "f":
                    torch_rel = _rel(spread[k], value)
                    refs[k] = (value, "torch (its own spread)", float32_bound(torch_rel, floor))
                    zero = _zero_by_construction(k, refs, torch_rel, floor)
                    if zero is not None:
                        refs[k] = zero
    else:
        with _recording(torch32):  # the same seed: the same masks as the float64 run
            own = _torch_run(torch32, x.astype(np.float32), seed + 1)
        theirs, their_kinks = _gradients_at(twin64, x, dy, own["_kinks"], replay)
        ours, our_kinks = _gradients_at(twin64, x, dy, twin, replay)
        kinks.check(our_kinks, [float32_bound(k.input_error, floor) for k in their_kinks])
        grads = {"dx": twin.backward(*(d.astype(dtype) for d in dy))}
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
            mine = {**ys, **grads, **twin.buffers()}[k]
            _log(k, _rel(mine, refs[k][0]), torch_rel)
        flips = [sum(k.flipped for k in found) for found in (our_kinks, their_kinks)]
        _log("flipped decisions", *flips)

    def same(name, value):
        reference, witness, bound = refs[name]
        parity(name, value, reference.astype(value.dtype), rtol=bound, witness=witness)

    for name, value in ys.items():
        same(name, value)
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
