"""The float32 worst relative errors of every twin test, ref_cnn's beside torch's own.

    python scripts/f32_errors.py            # on this machine's BLAS kernel
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/f32_errors.py

Runs the float32 twin tests (test_architectures.py, test_from_torch.py) with REF_CNN_F32_LOG
and prints a Markdown table: per test, the worst relative error over its quantities (y, dx,
every parameter gradient, every buffer) for ref_cnn float32 (against float64 at its own kink
decisions, parity_tests/kinks.py) and for torch float32 (against torch float64), and how
many ReLU / max-pool decisions float32 flipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "f32.jsonl"
        tests = ["parity_tests/test_architectures.py", "parity_tests/test_from_torch.py"]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "f32", *tests],
            cwd=ROOT,
            env={**os.environ, "REF_CNN_F32_LOG": str(log)},
        )
        rows: dict[str, dict] = {}
        for line in log.read_text(encoding="utf-8").splitlines():
            test, name, ours, theirs = json.loads(line)
            row = rows.setdefault(test, {"ours": (0.0, ""), "torch": (0.0, ""), "flips": 0})
            if name == "flipped decisions":
                row["flips"] = f"{ours} / {theirs}"
                continue
            row["ours"] = max(row["ours"], (ours, name))
            row["torch"] = max(row["torch"], (theirs, name))
    kernel = os.environ.get("OPENBLAS_CORETYPE", "OpenBLAS's own choice")
    print(f"\nfloat32 worst relative error per test (OPENBLAS_CORETYPE: {kernel})\n")
    print("| test | ref_cnn float32 | torch float32 | flipped decisions (ref_cnn / torch) |")
    print("|---|---|---|---|")
    for test, row in rows.items():
        (ours, on), (theirs, tn) = row["ours"], row["torch"]
        name = test.split("::")[-1]
        print(f"| {name} | {ours:.1e} ({on}) | {theirs:.1e} ({tn}) | {row['flips']} |")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
