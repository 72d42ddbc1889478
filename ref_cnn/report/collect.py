"""Run the parity suite in-process and group its measurements by equation ID.

Every test in parity_tests/ carries `@pytest.mark.equation(...)` IDs and records, through
the `parity` fixture, the error it measured against each witness. The JSON this module
builds is the report's data (schema in `ref_cnn.report.SCHEMA_DOC`).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from ref_cnn._extras import EXTRA
from ref_cnn.equations.articles import EQUATIONS

# --quick: float64 torch parity of the tests that carry an equation ID, without the slow
# second witnesses no equation depends on alone (OpInfo samples, numba kernels, whole
# ResNet-18 / GoogLeNet runs, hypothesis, threads); the report's --help lists them.
QUICK_FILTER = "not f32 and not literal and not finite_differences and not catalogue and not errata"
QUICK_SKIP = re.compile(
    r"test_opinfo\.py|test_conv_numba\.py|test_passes_numba\.py|test_properties\.py"
    r"|test_threads\.py|::test_googlenet|::test_resnet18"
)
QUICK_SKIPS = (
    "float32, the literal loops and finite differences, every test that verifies no equation "
    "(engineering, CLI, docs, packaging), torch's OpInfo samples, the compiled numba kernels, "
    "whole ResNet-18 and GoogLeNet, the hypothesis properties and the thread tests; "
    "the AV training run takes 30 steps instead of 100, and the two slowest errata "
    "demonstrations (AV-code-5, AV-text-2: whole AV training runs) are listed, not run"
)


class QuickSelection:
    """A pytest plugin for --quick: keep the tests that carry an equation ID and that
    QUICK_SKIP does not name."""

    def pytest_collection_modifyitems(self, config, items):
        """pytest hook: deselect the tests --quick skips."""
        keep, drop = [], []
        for item in items:
            has_ids = any(m.args for m in item.iter_markers("equation"))
            skipped = QUICK_SKIP.search(item.nodeid) or item.get_closest_marker("numba")
            (keep if has_ids and not skipped else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep


class Collector:
    """A pytest plugin: per test, its outcome, equation IDs and recorded errors."""

    def __init__(self, progress=None):
        self.results: list[dict] = []
        self.ids: dict[str, list[str]] = {}
        self.progress = progress
        self.collect_errors: list[tuple[str, str]] = []

    def pytest_collectreport(self, report):
        """pytest hook: remember each test file that failed to import, with its error."""
        if report.failed:  # a test file that does not import: keep its last error line
            lines = [ln for ln in str(report.longrepr).splitlines() if ln.strip()]
            error = next((ln for ln in reversed(lines) if ln.startswith("E ")), lines[-1:] or [""])
            self.collect_errors.append((report.nodeid, str(error).removeprefix("E").strip()))

    def pytest_collection_finish(self, session):
        """pytest hook: remember each collected test's equation IDs."""
        self.ids = {
            item.nodeid: sorted({i for m in item.iter_markers("equation") for i in m.args})
            for item in session.items
        }
        if self.progress is not None:
            self.progress.reset(total=len(session.items))

    def pytest_runtest_logreport(self, report):
        """pytest hook: record a test's outcome and the errors it measured."""
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.results.append(
                {
                    "nodeid": report.nodeid,
                    "outcome": report.outcome,
                    "records": [v for k, v in report.user_properties if k == "parity"],
                    "ids": self.ids.get(report.nodeid, []),
                }
            )
            if self.progress is not None:
                self.progress.update(1)


def run_suite(tests_dir: Path, quick: bool = False, progress=None) -> list[dict]:
    """Run parity_tests/ in this process; return one dict per test."""
    import pytest

    args = [str(tests_dir), "-p", "no:cacheprovider", "-p", "no:terminal"]
    plugins: list = [Collector(progress)]
    if quick:
        args += ["-k", QUICK_FILTER]
        plugins.append(QuickSelection())
    collector = plugins[0]
    code = pytest.main(args, plugins=plugins)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not collector.results:
        print(suite_did_not_run(code, collector.collect_errors, tests_dir), file=sys.stderr)
        raise SystemExit(2)
    return collector.results


def suite_did_not_run(code, collect_errors: list[tuple[str, str]], tests_dir: Path) -> str:
    """Why the suite did not run and the command that fixes it."""
    if not collect_errors:
        return (
            f"the parity suite did not run (pytest exit code {code!r}); see why with: "
            f"python -m pytest {tests_dir} -x"
        )
    lines = ["the parity suite did not run: a test file does not import"]
    for nodeid, error in collect_errors:
        lines.append(f"  {nodeid}: {error}")
        missing = re.search(r"No module named '([\w.]+)'", error)
        if missing:
            top = missing.group(1).split(".")[0]
            extra = EXTRA.get(top, "dev")
            lines.append(
                f'  fix: pip install "ref_cnn[{extra}]" (or bash scripts/dev.sh report, which '
                "sets up .venv with everything the suite needs)"
            )
        else:
            lines.append(f"  see the whole error with: python -m pytest --collect-only {nodeid}")
    return "\n".join(lines)


# The op family a test measures: by its file, or for files that cover many ops (torch's
# OpInfo samples, the compiled passes, whole networks) by the op its name or parameters
# name. FAMILIES is also the order of the report's error plot.
FAMILIES = (
    "convolution",
    "transposed conv",
    "correlation",
    "pooling",
    "unpooling",
    "batch norm",
    "linear",
    "activations",
    "losses",
    "padding",
    "optimizers",
    "shapes, im2col",
    "AV network",
    "AV training",
    "whole networks",
)
BY_FILE = {
    "conv": "convolution",
    "conv_numba": "convolution",
    "conv_transpose": "transposed conv",
    "correlate": "correlation",
    "pool": "pooling",
    "adaptive_max_unpool": "unpooling",
    "linear": "linear",
    "activations": "activations",
    "losses": "losses",
    "padding": "padding",
    "optim": "optimizers",
    "shapes_and_init": "shapes, im2col",
    "av_network": "AV network",
    "av_experiment": "AV training",
}
BY_NAME = (  # first match wins: conv_transpose before conv, unpool before pool
    (r"conv_transpose|transposed", "transposed conv"),
    (r"unpool", "unpooling"),
    (r"conv", "convolution"),
    (r"pool", "pooling"),
    (r"batch_?norm|\bbn\b|BN", "batch norm"),
    (r"linear", "linear"),
    (r"entropy|mse|loss|nll", "losses"),
    (r"relu|sigmoid|softmax|tanh|activation", "activations"),
    (r"\bpad|pad_", "padding"),
)


def family(nodeid: str) -> str:
    """The op family of a test (convolution, pooling, batch norm, …; FAMILIES)."""
    stem = Path(nodeid.split("::")[0]).stem.removeprefix("test_")
    if stem in BY_FILE:
        return BY_FILE[stem]
    name = nodeid.split("::", 1)[-1]
    if stem == "opinfo":  # the op is the first parameter: [batch_norm-8-…]
        name = name.split("[", 1)[-1].split("-", 1)[0]
    networks = stem in ("architectures", "from_torch", "from_torch_conv_pool_modules")
    patterns = BY_NAME[4:5] if networks else BY_NAME  # a network file's batch-norm tests
    found = (label for pattern, label in patterns if re.search(pattern, f"{stem} {name}"))
    return next(found, "whole networks" if networks else stem)


def summarise(results: list[dict], equations_of=EQUATIONS) -> dict:
    """{"summary", "equations", "records"}: per-equation status and worst errors, for the
    articles' catalogue (or `equations_of`, the ops' one: `ref_cnn.report.ops`)."""
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        for i in r["ids"]:
            by_id[i].append(r)
    equations = []
    for e in equations_of:
        tests = by_id.get(e.id, [])
        failed = [t["nodeid"] for t in tests if t["outcome"] == "failed"]
        ran = [t for t in tests if t["outcome"] == "passed"]
        status = "fail" if failed else "pass" if ran else "not verified"
        max_abs: dict[str, float] = {}
        max_rel: dict[str, float] = {}
        witnesses = set()
        for t in ran:
            for rec in t["records"]:
                key = f"{rec['quantity']} {rec['dtype']} vs {rec['witness']}"
                witnesses.add(rec["witness"])
                max_abs[key] = max(max_abs.get(key, 0.0), rec["abs"])
                max_rel[key] = max(max_rel.get(key, 0.0), rec["rel"])
        equations.append(
            {
                "id": e.id,
                "status": status,
                "article": e.article,
                "what": e.what,
                "statement": e.statement,
                "reference": e.reference,
                "functions": list(e.functions),
                "witnesses": sorted(witnesses),
                "cases": len(ran),
                "tests": sorted(t["nodeid"] for t in tests),
                "max_abs_error": dict(sorted(max_abs.items())),
                "max_rel_error": dict(sorted(max_rel.items())),
                "pending": e.pending,
                "failed_tests": failed,
            }
        )
    counts = {s: sum(q["status"] == s for q in equations) for s in ("pass", "fail", "not verified")}
    summary = {
        "equations": len(equations),
        "verified": counts["pass"],
        "failed": counts["fail"],
        "not_verified": counts["not verified"],
        "tests_run": len(results),
        "tests_failed": sum(r["outcome"] == "failed" for r in results),
        "failed_tests": [r["nodeid"] for r in results if r["outcome"] == "failed"],
    }
    records = [
        {**rec, "family": family(r["nodeid"]), "test": r["nodeid"]}
        for r in results
        if r["outcome"] == "passed"
        for rec in r["records"]
    ]
    return {"summary": summary, "equations": equations, "records": records}


def worst(errors: dict[str, float], dtype: str, against_torch: bool) -> float | None:
    """Largest error among one dtype's keys, against torch or against the other witnesses."""

    def is_torch(key: str) -> bool:  # float32 deep models are checked against torch float64
        return key.endswith(" vs torch") or key.endswith(" vs torch float64")

    values = [v for k, v in errors.items() if f" {dtype} vs " in k and is_torch(k) == against_torch]
    return max(values) if values else None
