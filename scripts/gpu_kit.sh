#!/usr/bin/env bash
# The conformance kit against torch's CUDA kernels: conv2d, conv_transpose2d, max_pool2d,
# avg_pool2d and linear in float64, float32 (TF32 off), float32 with TF32 on (held to the
# float32 bound), tf32 (inputs rounded to TF32), bfloat16 and float16. The witness is torch
# float64 on the CPU. Writes OUT/<op>-<mode>.json (scripts/peers.py --gpu-results OUT folds
# them into docs/peers.md), OUT/gpu_kit.log (every table) and OUT/repro/ (failing cases).
#
#   OUT=/tmp/gpu PYTHONPATH=. bash scripts/gpu_kit.sh        # from the repository root
#
# Needs only the system python3 with numpy and torch (no venv, no installs); DEVICE=cuda:1
# picks another GPU (DEVICE=cpu tries the script anywhere), OPS=conv2d,linear a subset,
# PYTHON another interpreter.
set -u
: "${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
export DEVICE="${DEVICE:-cuda}"
"${PYTHON:-python3}" - "$OUT" <<'PY' 2>&1 | tee "$OUT/gpu_kit.log"
import json, os, sys, time
from pathlib import Path

import torch

from ref_cnn.conformance import check, format_results
from ref_cnn.conformance.command import _environment, results_json

out, device = Path(sys.argv[1]), os.environ["DEVICE"]
print(f"device {device}: {_environment(device)}", flush=True)
modes = {  # name: (dtype, tf32)
    "float64": ("float64", False),
    "float32": ("float32", False),
    "float32-tf32-on": ("float32", True),
    "tf32": ("tf32", False),
    "bfloat16": ("bfloat16", False),
    "float16": ("float16", False),
}
ops = os.environ.get("OPS", "conv2d,conv_transpose2d,max_pool2d,avg_pool2d,linear")
for op in ops.split(","):
    target = f"torch.nn.functional:{op}"
    for mode, (dtype, tf32) in modes.items():
        start = time.perf_counter()
        try:
            results = check(getattr(torch.nn.functional, op), op, dtype, framework="torch",
                            device=device, tf32=tf32, save=out / "repro" / mode, target=target)
        except Exception as exc:  # noqa: BLE001 - one run that cannot start is recorded, not fatal
            print(f"== {op} {mode}: could not run: {type(exc).__name__}: {exc}", flush=True)
            row = {"target": target, "op": op, "dtype": dtype, "tf32": tf32, "error": str(exc)}
        else:
            seconds = time.perf_counter() - start
            print(f"== {op} {mode} ({seconds:.1f} s)\n{format_results(op, target, results)}\n",
                  flush=True)
            row = results_json(results, target, seconds)
        row.update(_environment(device), mode=mode)
        (out / f"{op}-{mode}.json").write_text(json.dumps(row, indent=1), encoding="utf-8")
PY
