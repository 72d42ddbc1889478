"""The parity suite's helpers: optional packages, torch conversion, bounds, finite differences.

Fixtures and hooks live in conftest.py; everything a test module imports lives here
(`from helpers import n, optional, t`).

torch is optional (the numpy-only pass runs without it). Every test module imports without
torch, torchvision and hypothesis: a module takes them through `optional(...)`, and a test
that needs one carries the marker `torch` (or `torchvision`). Where the package is absent
those tests are deselected by their marker (conftest.py) and the summary says how many and
why; an unmarked test that touches an absent package fails with an ImportError naming the
extra.
"""

from __future__ import annotations

import importlib

import numpy as np

from ref_cnn._metric import RTOL64, compare

EXTRA_OF = {"torch": "torch", "torchvision": "torch", "hypothesis": "dev", "tqdm": "train"}
EXTRA_OF.update(mlxtend="train", matplotlib="train", numba="fast")


def _try_import(name: str):
    """(module, None) or (None, why it does not import) — torchvision can be installed and
    still fail to import beside a torch it was not built for."""
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # ImportError, or RuntimeError from a mismatched torchvision
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0]


class Absent:
    """Stands in for a package that is not installed. Attribute chains stay lazy (a module
    level `torch.optim.SGD` in a parameter list, or `class M(tnn.Module)`), and any call
    raises an ImportError that names the extra that provides the package."""

    def __init__(self, name: str, why: str):
        self._name, self._why = name, why

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Absent(f"{self._name}.{attr}", self._why)

    def __call__(self, *args, **kwargs):
        top = self._name.split(".")[0]
        raise ImportError(
            f"{self._name} is needed but {top} does not import ({self._why}): "
            f'pip install "ref_cnn[{EXTRA_OF.get(top, "dev")}]", or mark the test '
            f"@pytest.mark.{top if top in ('torch', 'torchvision') else 'torch'} so that it is "
            "deselected where the package is absent"
        )

    def __mro_entries__(self, bases):
        return (object,)


def optional(name: str):
    """`import name`, or an `Absent` stand-in when it does not import."""
    module, why = _try_import(name)
    return module if module is not None else Absent(name, why)


_torch, _TORCH_WHY = _try_import("torch")
if _torch is not None:
    _torch.set_num_threads(1)  # deterministic reductions; both sides run single-threaded here
    _TORCHVISION_WHY = _try_import("torchvision")[1]
else:
    _TORCHVISION_WHY = f"torch does not import ({_TORCH_WHY})"
torch = _torch if _torch is not None else Absent("torch", _TORCH_WHY)
HYPOTHESIS_WHY = _try_import("hypothesis")[1]
_TRAIN_WHY = next(filter(None, (_try_import(m)[1] for m in ("tqdm", "mlxtend"))), None)
# marker -> why its package does not import (None: it does); conftest.py deselects by it
MISSING = {
    "torch": _TORCH_WHY,
    "torchvision": _TORCHVISION_WHY,
    "train": _TRAIN_WHY,
    "numba": _try_import("numba")[1],  # the compiled kernels (ref_cnn._fast.backend)
    # test_opinfo.py needs expecttest for torch's OpInfo database; without it that module
    # collects nothing, so docs/equations.md's test map (test_docs.py, a `dev` test) would
    # differ: `dev` tests run only where every dev package imports
    "dev": HYPOTHESIS_WHY or _try_import("expecttest")[1],
}


# the one error metric (ref_cnn/_metric.py, shared with the report and the conformance kit):
# NaN/±inf placement must match the witness; then max |ours − reference| ≤ RTOL · max |reference|
# (a norm-wise relative bound: sums that cancel to ~0 in one element would make an
# element-wise relative bound meaningless)
RTOL = {np.dtype(np.float64): RTOL64, np.dtype(np.float32): 2e-5}


def t(a: np.ndarray, grad: bool = False):
    """NumPy → torch, same dtype, a copy (so torch can never alias our arrays)."""
    return torch.tensor(np.array(a), requires_grad=grad)


def n(x) -> np.ndarray:
    return x.detach().numpy()


def to_numpy(a):
    """torch's values → NumPy's, through tuples, lists and dicts: a tensor becomes a copy of
    its array, a torch.Size a tuple; anything else is returned as it is."""
    if isinstance(a, torch.Tensor):
        return a.detach().numpy().copy()
    if isinstance(a, torch.Size):
        return tuple(a)
    if isinstance(a, tuple | list):
        return type(a)(to_numpy(v) for v in a)
    if isinstance(a, dict):
        return {k: to_numpy(v) for k, v in a.items()}
    return a


def describe(a) -> str:
    """A short readable name for a sample's argument, for test ids: a float64 tensor is
    `[2x3]`, another dtype `float32[2x3]`, a tuple `(…,…)`."""
    if isinstance(a, torch.Tensor):
        shape = "x".join(map(str, a.shape)) or "scalar"
        kind = "" if a.dtype == torch.float64 else str(a.dtype).replace("torch.", "")
        return f"{kind}[{shape}]"
    if isinstance(a, tuple | list):
        return "(" + ",".join(describe(v) for v in a) + ")"
    if isinstance(a, torch.dtype):
        return str(a).replace("torch.", "")
    return str(a)


def nonzero_normal(rng, shape, dtype=np.float64) -> np.ndarray:
    """Standard normal values pushed 0.1 away from 0: a kept element never reads as dropped,
    and no value sits at a kink at 0."""
    x = rng.standard_normal(shape)
    return (x + np.copysign(0.1, x)).astype(dtype)


def x_only_adapter(forward, backward):
    """An OpInfo adapter (parity_tests/opinfo_*.py) for an op whose only array is x:
    (x, args, kw, dy) → (y, {"input": dx}), the sample's options passed to both passes."""

    def run(x, args, kw, dy):
        return forward(x, *args, **kw), {"input": backward(dy, x, *args, **kw)}

    return run


def errors(ours, reference) -> tuple[float, float]:
    """(max absolute error, max absolute error / max |reference|) on the finite positions."""
    c = compare(ours, reference)
    return c.abs_err, c.rel_err


def finite_difference(
    fn, x: np.ndarray, dy: np.ndarray, eps: float = 1e-6, picks: int = 12, seed=0
):
    """Central differences of L(x) = Σ dy·fn(x) at `picks` random coordinates of x (float64).

    Returns (coordinates, numerical gradient values there).
    """
    rng = np.random.default_rng(seed)
    coords = [tuple(int(rng.integers(0, s)) for s in x.shape) for _ in range(picks)]
    values = []
    for c in coords:
        xp, xm = x.copy(), x.copy()
        xp[c] += eps
        xm[c] -= eps
        values.append((np.sum(dy * fn(xp)) - np.sum(dy * fn(xm))) / (2 * eps))
    return coords, np.array(values)


def resolve(dotted: str):
    """The object `package.module.name` names."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)
