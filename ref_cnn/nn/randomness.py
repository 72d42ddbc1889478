"""Randomness shared with torch: a twin in training mode uses the masks torch drew.

    with ref_cnn.shared_randomness(torch_model, twin):
        y = torch_model(x)          # torch draws its dropout / stochastic-depth masks; recorded
        y_np = twin.forward(x_np)   # each twin layer takes the mask its torch module drew

Inside the context, `torch.nn.functional.dropout`, `dropout2d` and torchvision's
`stochastic_depth` draw their keep-mask m with torch's generator explicitly
(`torch.empty(shape).bernoulli_(1 − p)`, as torch's own kernels do), compute
y = x·(m/(1 − p)) as torch does, and append m to the queue of the innermost module of
`torch_model` that was running: an nn.Dropout, an nn.Dropout2d, a StochasticDepth, or a
module whose forward calls F.dropout itself (DenseNet's layers). The mask, not the output,
is recorded: where x = 0 the output cannot tell a kept element from a dropped one.

A twin layer knows its torch module's name (`torch_name`, set by `from_torch`; a graph
twin sets it with `bind`) and takes that module's masks in call order (`take`), so a
module called twice gives its twin its two masks in turn. Masks are taken only where the
op is random (training and 0 < p < 1), on both sides.

Outside the context a twin layer draws its mask from a NumPy Generator: the one given to
the layer (`Dropout(p, rng=np.random.default_rng(seed))`), else ref_cnn.functional's
default generator, which `ref_cnn.functional.manual_seed(seed)` seeds.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections import deque

import numpy as np

from ref_cnn._extras import require

_ACTIVE = threading.local()  # .session: the open _Session of this thread, or None


class _Session:
    """The masks recorded per torch module name, each a queue in call order."""

    def __init__(self):
        self.masks: dict[str, deque[np.ndarray]] = {}

    def record(self, name: str, mask: np.ndarray) -> None:
        self.masks.setdefault(name, deque()).append(mask)


def bind(layer, torch_name: str):
    """Tell a twin layer the name of the torch module (as in `named_modules()`) whose masks
    it takes inside `shared_randomness`; returns the layer."""
    layer.torch_name = torch_name
    return layer


def take(layer, shape: tuple[int, ...]) -> np.ndarray | None:
    """The next mask torch drew for `layer`'s module inside `shared_randomness`, or None
    outside it (the layer then draws its own). Raises where torch drew no mask for it."""
    session = getattr(_ACTIVE, "session", None)
    if session is None:
        return None
    name = getattr(layer, "torch_name", None)
    if name is None:
        raise RuntimeError(
            f"shared_randomness: this {type(layer).__name__} has no torch module name; "
            "build the twin with ref_cnn.from_torch, or name it with ref_cnn.nn.randomness.bind"
        )
    queue = session.masks.get(name)
    if not queue:
        raise RuntimeError(
            f"shared_randomness: torch module {name!r} drew no mask for this call of its twin: "
            "run the torch model on the batch first, inside the same `with` block, with both "
            "models in the same train/eval mode"
        )
    mask = queue.popleft()
    if mask.shape != tuple(shape):
        raise ValueError(
            f"shared_randomness: torch module {name!r} drew a mask of shape {mask.shape}, "
            f"its twin needs {tuple(shape)}: feed both models the same input"
        )
    return mask


def _check_twin(twin, torch_names: set[str]) -> None:
    """Every mask-taking layer of the twin names a module of the torch model: a twin of
    another model would otherwise fail only at its first forward."""
    if twin is None or not hasattr(twin, "_all_modules"):
        return
    for layer in twin._all_modules():
        name = getattr(layer, "torch_name", None)
        if getattr(layer, "takes_masks", False) and name is not None and name not in torch_names:
            raise ValueError(
                f"shared_randomness: the twin's {type(layer).__name__} takes the masks of torch "
                f"module {name!r}, which the torch model does not have: pass the torch model "
                "the twin was built from"
            )


def _random(p: float, training: bool) -> bool:
    return bool(training) and 0.0 < p < 1.0


def _noisy(torch, x, p, shape, inplace, record):
    """torch's dropout: m ~ Bernoulli(1 − p) of `shape`, y = x·(m/(1 − p)); records m."""
    mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1 - p)
    record(mask.detach().cpu().numpy() != 0)
    noise = mask / (1 - p)
    return x.mul_(noise) if inplace else x * noise


@contextlib.contextmanager
def shared_randomness(torch_model, twin):
    """Record the masks `torch_model`'s dropout-like modules draw; `twin`'s layers use them.

    Args:
        torch_model: the torch.nn.Module whose forward runs inside the block.
        twin: its ref_cnn twin (from `ref_cnn.from_torch`); its mask-taking layers must
            name modules of torch_model (ValueError otherwise).

    Both models must be called on the same inputs, torch's first. Masks not taken by the
    end of the block are discarded. Not reentrant, and one thread's block at a time: the
    torch functions are patched for the whole process while it is open.
    """
    torch = require("torch", "shared_randomness")
    import torch.nn.functional as tF

    if getattr(_ACTIVE, "session", None) is not None:
        raise RuntimeError("shared_randomness blocks cannot be nested")
    session, running = _Session(), []
    names = {id(m): name for name, m in torch_model.named_modules()}
    _check_twin(twin, set(names.values()))

    def record_for_running(mask):
        if running:  # a call outside torch_model's forward is not recorded
            session.record(running[-1], mask)

    def dropout(input, p=0.5, training=True, inplace=False):
        if not (running and _random(p, training)):
            return originals["dropout"](input, p, training, inplace)
        return _noisy(torch, input, p, input.shape, inplace, record_for_running)

    def dropout2d(input, p=0.5, training=True, inplace=False):
        if not (running and _random(p, training)) or input.dim() < 2:
            return originals["dropout2d"](input, p, training, inplace)
        shape = (*input.shape[:2], *(1,) * (input.dim() - 2))  # one draw per (n, c) map
        return _noisy(torch, input, p, shape, inplace, record_for_running)

    def stochastic_depth(input, p, mode, training=True):
        if not (running and _random(p, training)) or mode not in ("row", "batch"):
            return originals["stochastic_depth"](input, p, mode, training)
        lead = input.shape[0] if mode == "row" else 1
        shape = (lead, *(1,) * (input.dim() - 1))
        return _noisy(torch, input, p, shape, False, record_for_running)

    targets = [(tF, "dropout", dropout), (tF, "dropout2d", dropout2d)]
    try:
        import torchvision.ops as tv_ops

        tv_sd = sys.modules["torchvision.ops.stochastic_depth"]  # the module, not the function
    except Exception:  # no torchvision (or one built for another torch): no stochastic depth
        pass
    else:
        targets += [(tv_sd, "stochastic_depth", stochastic_depth)]
        targets += [(tv_ops, "stochastic_depth", stochastic_depth)]
    originals = {name: getattr(owner, name) for owner, name, _ in targets}  # one function each

    def enter(module, args):
        running.append(names[id(module)])

    def leave(module, args, output):
        running.pop()

    hooks = []
    for m in torch_model.modules():
        hooks.append(m.register_forward_pre_hook(enter))
        hooks.append(m.register_forward_hook(leave, always_call=True))  # also when it raises
    for owner, name, fn in targets:
        setattr(owner, name, fn)
    _ACTIVE.session = session
    try:
        yield session
    finally:
        _ACTIVE.session = None
        for owner, name, _ in targets:
            setattr(owner, name, originals[name])
        for h in hooks:
            h.remove()
