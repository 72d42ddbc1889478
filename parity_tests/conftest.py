"""The parity suite's fixtures and hooks: the parity assertion, finite differences, the
parallel path, and the deselection of tests whose optional package is absent.

`parity(quantity, ours, reference)` asserts that two arrays agree to the dtype's bound
and records the measured error on the test node, where `scripts/parity_report.py` reads
it back per equation ID (the test's `equation` marker). The helpers a test module imports
(`t`, `n`, `optional`, `RTOL`, `finite_difference`, …) are in helpers.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HYPOTHESIS_WHY, MISSING, RTOL, finite_difference

from ref_cnn._metric import compare, float32_bound

# hypothesis builds the property tests at import: without it that module is not collected
# (pytest_terminal_summary says so). Each of its tests is marked `torch` as well.
collect_ignore = ["test_properties.py"] if HYPOTHESIS_WHY else []


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
    if HYPOTHESIS_WHY:
        terminalreporter.write_line(
            f"not collected: test_properties.py (hypothesis: {HYPOTHESIS_WHY}); "
            'pip install "ref_cnn[dev]" to run it'
        )
    for marker, count in getattr(config, "_ref_cnn_dropped", {}).items():
        if count:
            extra = {"train": "train", "dev": "dev", "numba": "fast"}.get(marker, "torch")
            terminalreporter.write_line(
                f"deselected {count} tests marked '{marker}': {MISSING[marker]} "
                f'(pip install "ref_cnn[{extra}]" to run them)'
            )
