"""float32 comparisons through kinks (ReLU, max-pool) that hold on any BLAS kernel.

A float32 twin and its float64 reference make the same ReLU and max-pool decisions except
where a pre-activation (or a window's runner-up) lies within float32 rounding of the kink.
There, which side the float32 value lands on depends on the summation order, i.e. on the
BLAS kernel: one flipped mask element turns into a percent-level error in a δ and in a
parameter gradient, although neither library is less accurate.

The rule (`follow_decisions`): the float64 reference's backward pass takes the float32 run's
own decisions (its ReLU masks and the argmax of its max-pool windows); its forward pass is
left alone, since ReLU and max are continuous. The comparison then measures float32 rounding
only. It stays a test of the decisions: the float32 twin's own backward computes its masks
and argmaxes with ref_cnn's code, and every kink layer's float32 input must agree with the
float64 one to a bound (`check`; the architecture tests use ten times torch's own float32
error at the same layer), so a decision can differ only where the value is within that
bound of the kink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ref_cnn import functional as F
from ref_cnn._metric import compare
from ref_cnn.nn import MaxPool2d, Module, ReLU, Residual, Sequential
from ref_cnn.nn.graph import GlueSite, GraphTwin


def layers(module: Module):
    """Every module reached by forward, in order, including a Sequential's unnamed steps, a
    Residual's activation (they are not registered children) and a graph twin's glue calls."""
    if isinstance(module, GraphTwin):
        subs = module.sites()
    elif isinstance(module, Residual):
        subs = [module.body, module.downsample, module.activation]
    elif isinstance(module, Sequential):
        subs = module._path
    else:
        subs = list(module._children.values())
    yield module
    for sub in subs:
        if sub is not None:
            yield from layers(sub)


def _kind(m: Module) -> str | None:
    """The kink of a layer or graph glue call: "relu", "max_pool2d", or None."""
    if isinstance(m, ReLU):
        return "relu"
    if isinstance(m, MaxPool2d):
        return "max_pool2d"
    if isinstance(m, GlueSite):
        return m.name if m.name in ("relu", "max_pool2d") else None  # F.relu, F.max_pool2d
    return None


@dataclass
class Kink:
    path: str
    kind: str  # "relu" or "max_pool2d"
    flipped: int  # decisions where float32 and float64 differ
    input_error: float  # max |x32 − x64| / max |x64| of the layer's input


class follow_decisions:
    """`with follow_decisions(twin64, decided) as kinks:` — after twin64 ran forward, its
    backward uses the decisions of `decided`: a float32 twin that ran forward on the same
    input (its ReLU masks and max-pool argmaxes), or the inputs of those layers in forward
    order (recorded from another library). `kinks` lists, per layer, how many decisions
    differ from float64's and how far the inputs are apart."""

    def __init__(self, twin64: Module, decided: Module | list[np.ndarray]):
        ours = [m for m in layers(twin64) if _kind(m)]
        if isinstance(decided, Module):
            theirs = [m for m in layers(decided) if _kind(m)]
            assert [type(m) for m in theirs] == [type(m) for m in ours], "twins differ"
            decided = [m._x for m in theirs]
        assert len(decided) == len(ours), f"{len(decided)} kink inputs for {len(ours)} layers"
        self.pairs = [
            (f"{i}:{type(m).__name__}", m, x)
            for i, (m, x) in enumerate(zip(ours, decided, strict=True))
        ]
        self.kinks: list[Kink] = []

    def __enter__(self) -> list[Kink]:
        for path, m64, x32 in self.pairs:
            x64 = m64._x
            assert x64 is not None and x32 is not None, f"{path}: run the forwards first"
            assert x32.shape == x64.shape, f"{path}: input shape {x32.shape} != {x64.shape}"
            err = compare(x32, x64).rel_err  # the one metric (ref_cnn/_metric.py)
            if _kind(m64) == "relu":
                keep = x32 > 0  # F.relu_backward's rule (gradient 0 at x = 0, as torch)
                flipped = int(np.count_nonzero(keep != (x64 > 0)))
                m64.backward = lambda dy, keep=keep: np.where(keep, dy, np.zeros_like(dy))
                self.kinks.append(Kink(path, "relu", flipped, err))
            else:
                x_at = x32.astype(np.float64)  # argmax of the float32 values, float64 sums
                opts = {k: v for k, v in m64.options.items() if k != "return_indices"}
                ones = np.ones_like(F.max_pool2d(x64, **opts))
                routed_32 = F.max_pool2d_backward(ones, x_at, **opts)
                routed_64 = F.max_pool2d_backward(ones, x64, **opts)
                flipped = int(np.count_nonzero(routed_32 != routed_64))
                m64.backward = lambda dy, x_at=x_at, opts=opts: F.max_pool2d_backward(
                    dy, x_at, **opts
                )
                self.kinks.append(Kink(path, "max_pool2d", flipped, err))
        return self.kinks

    def __exit__(self, *exc):
        for _, m64, _ in self.pairs:
            m64.__dict__.pop("backward", None)  # back to the class's own backward
        return False


def check(kinks: list[Kink], bound: float | list[float]) -> None:
    """Every kink layer's float32 input agrees with the float64 one to `bound` (one for all,
    or one per layer): decisions can then differ only within that of a kink, which is
    rounding, not a wrong mask."""
    bounds = bound if isinstance(bound, list) else [bound] * len(kinks)
    far = [(k, b) for k, b in zip(kinks, bounds, strict=True) if k.input_error > b]
    assert not far, f"float32 inputs of kink layers differ from float64 beyond the bound: {far}"
