"""Shared parity helpers: torch conversion, the parity assertion, finite differences.

`parity(quantity, ours, reference)` asserts that two arrays agree to the dtype's bound
and records the measured error on the test node, where `scripts/parity_report.py` reads
it back per equation ID (the test's `equation` marker).

torch is optional here (the numpy-only pass runs without it). Every test module imports
without torch, torchvision and hypothesis: a module takes them through `optional(...)`, and
a test that needs one carries the marker `torch` (or `torchvision`). Where the package is
absent those tests are deselected by their marker and the summary says how many and why;
an unmarked test that touches an absent package fails with an ImportError naming the extra.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from ref_cnn._metric import RTOL64, compare, float32_bound

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
# hypothesis builds the property tests at import: without it that module is not collected
# (pytest_terminal_summary says so). Each of its tests is marked `torch` as well.
_HYPOTHESIS_WHY = _try_import("hypothesis")[1]
collect_ignore = ["test_properties.py"] if _HYPOTHESIS_WHY else []
_TRAIN_WHY = next(filter(None, (_try_import(m)[1] for m in ("tqdm", "mlxtend"))), None)
MISSING = {
    "torch": _TORCH_WHY,
    "torchvision": _TORCHVISION_WHY,
    "train": _TRAIN_WHY,
    "numba": _try_import("numba")[1],  # the compiled kernels (ref_cnn._fast.backend)
    # test_opinfo.py needs expecttest for torch's OpInfo database; without it that module
    # collects nothing, so docs/equations.md's test map (test_docs.py, a `dev` test) would
    # differ: `dev` tests run only where every dev package imports
    "dev": _HYPOTHESIS_WHY or _try_import("expecttest")[1],
}


@pytest.fixture(autouse=True, scope="session")
def _parallel_path():
    """The whole suite runs on ref_cnn's parallel path (`ref_cnn._fast.threads`): 3 threads, and
    work cut into tiny tasks, so that even the small test arrays are split."""
    import ref_cnn
    from ref_cnn._fast.tuning import tuned

    knobs = dict(
        elementwise_block=64,
        min_task_bytes=2**12,  # small pieces: bands of rows, blocks of channels
        batch_norm_block_bytes=1,
        conv_task_column_bytes=1,  # one image per conv chunk
        pool_task_bytes=1,
    )
    if not MISSING["numba"]:  # bands of 2 to 8 output rows in the compiled kernels' tests
        knobs["numba_task_positions"] = 16
    before = ref_cnn.get_num_threads()
    ref_cnn.set_num_threads(3)
    with tuned(**knobs):
        yield
    ref_cnn.set_num_threads(before)


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


@pytest.fixture
def parity(request):
    """parity(quantity, ours, reference, rtol=None, witness="torch", why=None) → asserts and
    records, with the bound applied (`why`: the reason for a bound other than RTOL's)."""

    def check(
        quantity: str,
        ours,
        reference,
        rtol: float | None = None,
        witness: str = "torch",
        why: str | None = None,
    ):
        ours, reference = np.asarray(ours), np.asarray(reference)
        assert ours.shape == reference.shape, f"{quantity}: shape {ours.shape} != {reference.shape}"
        assert ours.dtype == reference.dtype, f"{quantity}: dtype {ours.dtype} != {reference.dtype}"
        c = compare(ours, reference)
        abs_err, rel_err = c.abs_err, c.rel_err
        bound = RTOL[ours.dtype] if rtol is None else rtol
        request.node.user_properties.append(
            (
                "parity",
                {
                    "quantity": quantity,
                    "witness": witness,
                    "dtype": str(ours.dtype),
                    "abs": abs_err,
                    "rel": rel_err,
                    "bound": bound,
                    **({"why": why} if why else {}),
                },
            )
        )
        assert c.ok(bound), f"{c.describe(quantity, witness)}; bound {bound:.0e}"

    return check


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


@pytest.fixture
def fd_check(parity):
    """fd_check(quantity, fn, x, dy, analytic_grad): finite differences as a second witness."""

    def check(quantity, fn, x, dy, grad, rtol=1e-6):
        coords, numeric = finite_difference(fn, x, dy)
        analytic = np.array([grad[c] for c in coords])
        parity(quantity, analytic, numeric, rtol=rtol, witness="finite differences")

    return check


@pytest.fixture
def f32_parity(parity):
    """f32_parity(quantity, ours, theirs32, exact64): the float32 rule. ours (float32) against
    the float64 result, within `float32_bound` of the witness's own float32 error there."""

    def check(quantity, ours, theirs32, exact64, witness="torch float64"):
        bound = float32_bound(compare(theirs32, exact64).rel_err)
        parity(quantity, ours, exact64.astype(np.float32), rtol=bound, witness=witness)

    return check


@pytest.fixture(scope="session")
def tests_by_id() -> dict[str, list[str]]:
    """{equation ID: [tests]} from one collection run over the whole suite (shared by the
    articles' and the ops' catalogue tests)."""
    from ref_cnn.report.docs import tests_by_id as collect

    return collect()


def resolve(dotted: str):
    """The object `package.module.name` names."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


# ----------------------------------------------------------------- equation IDs of the tests


def pytest_addoption(parser):
    parser.addoption(
        "--equation-ids-out",
        metavar="FILE",
        help="after collection, write {test node id: [equation IDs]} as JSON to FILE",
    )


def equation_ids(item) -> list[str]:
    """The equation IDs an item carries through `@pytest.mark.equation(...)` markers."""
    return sorted({i for mark in item.iter_markers("equation") for i in mark.args})


def pytest_collection_modifyitems(config, items):
    # an `engineering` test (kernels, buffers, chunks, threads, argument checks) verifies no
    # equation: it must not carry an equation marker, so the report's case counts stay honest
    both = [
        item.nodeid
        for item in items
        if item.get_closest_marker("engineering") and equation_ids(item)
    ]
    if both:
        raise pytest.UsageError(f"tests marked both engineering and equation: {both[:5]}")
    out = config.getoption("--equation-ids-out")
    if out:  # every collected test, before any is deselected for a missing package
        import json

        with open(out, "w", encoding="utf-8") as fh:
            json.dump({item.nodeid: equation_ids(item) for item in items}, fh)
    # torchvision implies torch; tests whose package is absent are deselected, and said so.
    for item in items:
        if item.get_closest_marker("torchvision") and not item.get_closest_marker("torch"):
            item.add_marker("torch")
    dropped = {}
    for marker in MISSING:
        if MISSING[marker]:
            for item in items:
                if item.get_closest_marker(marker) and item.nodeid not in dropped:
                    dropped[item.nodeid] = (item, marker)
    if dropped:
        config.hook.pytest_deselected(items=[item for item, _ in dropped.values()])
        items[:] = [item for item in items if item.nodeid not in dropped]
        config._ref_cnn_dropped = {
            m: sum(1 for _, k in dropped.values() if k == m) for m in MISSING
        }


def pytest_report_header(config):
    have = ", ".join(f"{m} {'absent' if why else 'yes'}" for m, why in MISSING.items())
    return f"ref_cnn extras: {have}"


def pytest_terminal_summary(terminalreporter, config):
    if _HYPOTHESIS_WHY:
        terminalreporter.write_line(
            f"not collected: test_properties.py (hypothesis: {_HYPOTHESIS_WHY}); "
            'pip install "ref_cnn[dev]" to run it'
        )
    for marker, count in getattr(config, "_ref_cnn_dropped", {}).items():
        if count:
            extra = {"train": "train", "dev": "dev", "numba": "fast"}.get(marker, "torch")
            terminalreporter.write_line(
                f"deselected {count} tests marked '{marker}': {MISSING[marker]} "
                f'(pip install "ref_cnn[{extra}]" to run them)'
            )
