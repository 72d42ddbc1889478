#!/usr/bin/env python
"""Run the parity suite and write a per-equation report (the README's main command).

Every test in parity_tests/ carries the equation IDs it verifies and records the error it
measured against each witness (torch, torch.nn.grad, scipy, finite differences, the
literal loops). This script runs the suite in-process, groups the results by equation
ID from the project's catalogue, and writes:

    reports/parity.json   {"summary": {...}, "equations": [{"id", "status", ...}, ...]}
    reports/parity.md     one table per article

It prints the table and `N/46 equations verified`, and exits non-zero if any equation
fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ref_cnn.catalogue import ARTICLES, EQUATIONS  # noqa: E402


class Collector:
    """A pytest plugin: per test, its outcome, equation IDs and recorded errors."""

    def __init__(self, progress):
        self.results: list[dict] = []
        self.ids: dict[str, list[str]] = {}
        self.progress = progress

    def pytest_collection_finish(self, session):
        self.ids = {
            item.nodeid: sorted({i for m in item.iter_markers("equation") for i in m.args})
            for item in session.items
        }
        self.progress.reset(total=len(session.items))

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            ids = self.ids.get(report.nodeid, [])
            self.results.append(
                {
                    "nodeid": report.nodeid,
                    "outcome": report.outcome,
                    "records": [v for k, v in report.user_properties if k == "parity"],
                    "ids": ids,
                }
            )
            self.progress.update(1)


def run_suite(quick: bool) -> list[dict]:
    import pytest
    from tqdm import tqdm

    args = [str(ROOT / "parity_tests"), "-p", "no:cacheprovider", "-p", "no:terminal"]
    if quick:
        args += ["-k", "not f32 and not literal and not finite_differences and not catalogue"]
    with tqdm(desc="parity suite", unit="test", file=sys.stderr) as progress:
        collector = Collector(progress)
        code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not collector.results:
        raise SystemExit(f"the parity suite did not run (pytest exit code {code!r})")
    return collector.results


def summarise(results: list[dict]) -> dict:
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        for i in r["ids"]:
            by_id[i].append(r)
    equations = []
    for e in EQUATIONS:
        tests = by_id.get(e.id, [])
        failed = [t["nodeid"] for t in tests if t["outcome"] == "failed"]
        ran = [t for t in tests if t["outcome"] == "passed"]
        if failed:
            status = "fail"
        elif ran:
            status = "pass"
        else:
            status = "not verified"
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
                "functions": list(e.functions),
                "witnesses": sorted(witnesses),
                "cases": len(ran),
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
    return {"summary": summary, "equations": equations, "errata": []}


def _worst(errors: dict[str, float], dtype: str, torch: bool) -> str:
    """Largest error among one dtype's keys, against torch or against the other witnesses."""
    values = [
        v for k, v in errors.items() if f" {dtype} vs " in k and k.endswith(" vs torch") == torch
    ]
    return f"{max(values):.1e}" if values else "–"


def to_markdown(report: dict) -> str:
    s = report["summary"]
    lines = [
        "# ref_cnn parity report",
        "",
        f"**{s['verified']}/{s['equations']} equations verified**, {s['failed']} failing, "
        f"{s['not_verified']} not yet verified; {s['tests_run']} tests run.",
        "",
        "Errors are max |ours − witness| / max |witness| over every case and every forward",
        "output and gradient of the equation.",
    ]
    for article, title in ARTICLES.items():
        lines += [
            "",
            f"## {article}: {title}",
            "",
            "| ID | what | status | cases | vs torch f64 | vs torch f32 | other witnesses f64 "
            "| witnesses |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for q in report["equations"]:
            if q["article"] != article:
                continue
            status = q["status"] if not q["pending"] else f"not verified ({q['pending']})"
            lines.append(
                f"| {q['id']} | {q['what']} | {status} | {q['cases']} | "
                f"{_worst(q['max_rel_error'], 'float64', True)} | "
                f"{_worst(q['max_rel_error'], 'float32', True)} | "
                f"{_worst(q['max_rel_error'], 'float64', False)} | "
                f"{', '.join(q['witnesses']) or '–'} |"
            )
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify every equation of the three articles against torch and write "
        "parity.json and parity.md.",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "reports", help="output folder (default: reports/)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="float64 torch parity only (skips float32, loops, finite differences)",
    )
    args = parser.parse_args(argv)

    report = summarise(run_suite(args.quick))
    write_atomic(args.out / "parity.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    markdown = to_markdown(report)
    write_atomic(args.out / "parity.md", markdown)
    print(markdown)
    s = report["summary"]
    print(
        f"{s['verified']}/{s['equations']} equations verified, {len(report['errata'])} errata demonstrated"
    )
    print(f"wrote {args.out / 'parity.json'} and {args.out / 'parity.md'}")
    return 1 if s["failed"] or s["tests_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
