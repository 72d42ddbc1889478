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
from ref_cnn.catalogue import EQUATIONS

QUICK_FILTER = "not f32 and not literal and not finite_differences and not catalogue and not errata"


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
    if quick:
        args += ["-k", QUICK_FILTER]
    collector = Collector(progress)
    code = pytest.main(args, plugins=[collector])
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


def family(nodeid: str) -> str:
    """The op family of a test: its file name without test_ (conv, pool, linear, …)."""
    return Path(nodeid.split("::")[0]).stem.removeprefix("test_")


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
