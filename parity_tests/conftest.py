"""Shared parity helpers: torch conversion, the parity assertion, finite differences.

`parity(quantity, ours, reference)` asserts that two arrays agree to the dtype's bound
and records the measured error on the test node, where `scripts/parity_report.py` reads
it back per equation ID (the test's `equation` marker).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ref_cnn._metric import RTOL64, compare

torch.set_num_threads(1)  # deterministic reductions; both sides run single-threaded here


@pytest.fixture(autouse=True, scope="session")
def _parallel_path():
    """The whole suite runs on ref_cnn's parallel path (`ref_cnn.threads`): 3 threads, and
    work cut into tiny tasks, so that even the small test arrays are split."""
    import ref_cnn
    from ref_cnn import threads
    from ref_cnn.functional import batchnorm

    knobs = [(threads, "ELEMENTWISE_BLOCK", 64), (batchnorm, "BLOCK_BYTES", 1)]
    before = ref_cnn.get_num_threads(), [getattr(m, name) for m, name, _ in knobs]
    ref_cnn.set_num_threads(3)
    for module, name, value in knobs:
        setattr(module, name, value)
    yield
    ref_cnn.set_num_threads(before[0])
    for (module, name, _), value in zip(knobs, before[1], strict=True):
        setattr(module, name, value)


# the one error metric (ref_cnn/_metric.py, shared with the report and the conformance kit):
# NaN/±inf placement must match the witness; then max |ours − reference| ≤ RTOL · max |reference|
# (a norm-wise relative bound: sums that cancel to ~0 in one element would make an
# element-wise relative bound meaningless)
RTOL = {np.dtype(np.float64): RTOL64, np.dtype(np.float32): 2e-5}


def t(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    """NumPy → torch, same dtype, a copy (so torch can never alias our arrays)."""
    return torch.tensor(np.array(a), requires_grad=grad)


def n(x: torch.Tensor) -> np.ndarray:
    return x.detach().numpy()


def errors(ours, reference) -> tuple[float, float]:
    """(max absolute error, max absolute error / max |reference|) on the finite positions."""
    c = compare(ours, reference)
    return c.abs_err, c.rel_err


@pytest.fixture
def parity(request):
    """parity(quantity, ours, reference, rtol=None, witness="torch") → asserts and records."""

    def check(quantity: str, ours, reference, rtol: float | None = None, witness: str = "torch"):
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
    out = config.getoption("--equation-ids-out")
    if out:
        import json

        with open(out, "w", encoding="utf-8") as fh:
            json.dump({item.nodeid: equation_ids(item) for item in items}, fh)
