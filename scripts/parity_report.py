#!/usr/bin/env python
"""Verify every equation of the three articles and write the parity report.

Runs the parity suite (parity_tests/) in-process, groups every measured error by the
equation IDs the tests carry, runs the errata demonstrations and the AV training run in
ref_cnn and torch, and writes parity.json, parity.md and parity.html (self-contained,
figures embedded) to reports/ or --out. The ops beyond the articles (ACT-n, NRM-n, SPA-n)
are counted apart, on a second line. Exits non-zero if any equation fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# Everything the suite's witnesses and the report need (the dev extra holds them all).
NEEDED = ("torch", "torchvision", "pytest", "hypothesis", "tqdm", "mlxtend", "matplotlib", "scipy")


def missing_packages() -> list[str]:
    """The packages of NEEDED that do not import here, each with the reason."""
    import importlib

    missing = []
    for name in NEEDED:
        try:
            importlib.import_module(name)
        except Exception as exc:  # ImportError, or a torchvision built for another torch
            missing.append(f"{name} ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    return missing


def main(argv: list[str] | None = None) -> int:
    from ref_cnn.report.collect import QUICK_SKIPS

    parser = argparse.ArgumentParser(
        description="Verify every equation of the AV, MB and IC articles against torch and "
        "write parity.json, parity.md and parity.html.",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "reports", help="output folder (default: reports/)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast subset that still verifies every equation: float64 parity against torch "
        "of the tests that carry an equation ID. It skips " + QUICK_SKIPS,
    )
    args = parser.parse_args(argv)
    missing = missing_packages()
    if missing:
        print(
            "the parity report needs " + ", ".join(missing) + ". Install them with\n"
            '  pip install -e ".[dev]"    (torch, torchvision, the train extra, pytest, hypothesis)\n'
            "or run bash scripts/dev.sh report, which sets up .venv with them and runs this.",
            file=sys.stderr,
        )
        return 2

    from tqdm import tqdm

    from ref_cnn.report import build, summary_line
    from ref_cnn.report.ops import ops_summary_line

    with tqdm(desc="parity suite", unit="test", file=sys.stderr) as progress:
        report = build(args.out, args.quick, progress)
    print((args.out / "parity.md").read_text(encoding="utf-8").split("## Errata")[0])
    print(summary_line(report))
    print(ops_summary_line(report["ops"]))
    print(f"wrote {args.out / 'parity.json'}, parity.md and parity.html")
    s = report["summary"]
    for nodeid in s["failed_tests"]:
        print(f"failed: {nodeid}  (rerun: .venv/bin/python -m pytest '{nodeid}')", file=sys.stderr)
    return 1 if s["failed"] or s["tests_failed"] or report["ops"]["summary"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
