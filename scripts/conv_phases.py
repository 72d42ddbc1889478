"""Where conv2d forward + backward spends its time, phase by phase, next to torch's total.

    python scripts/conv_phases.py                  # layer (c), float32, 1 and 2 threads
    python scripts/conv_phases.py --layer d --threads 1,2,4 --calls 20

Each thread count runs in its own process with the BLAS library's default kernel
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed) and every thread variable set to the count.
ref_cnn's calls run under a profiler on every thread (the caller's and each worker's), and
each function's own time is put into a phase by `PHASES`; a phase's figure is thread time
per call, summed over the threads (so at 2 threads the phases add up to about twice the
wall time). `wall` is the call's time without the profiler, measured as `scripts/bench.py`
measures its fwd+bwd row of the layer (the same inputs and torch call, `bench.compare`'s
alternating blocks; the ratio is the median over neighbouring pairs).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

# (function name, called from) → phase; "*" matches any caller. The first match wins, and a
# function no rule names is "other". Functions are matched by their own time only (time in
# what they call goes to the callee's phase); NumPy's copyto and ufuncs (matmul, add) are no
# functions to the profiler, so their time is their caller's own: `_columns`' is the copy of
# the strided patch view, `_product_to_nchw`'s and `product`'s the BLAS products.
PHASES = [
    ("pad_nchw", "*", "padding"),
    ("_padded_last", "*", "padding"),
    ("fill", "_padded_last", "padding"),
    ("_columns", "*", "columns (im2col copy)"),
    ("_columns_last", "*", "columns (im2col copy)"),
    ("fill", "_col2im", "scatter (col2im)"),
    ("_col2im", "*", "scatter (col2im)"),
    ("_to_nchw", "*", "layout (+ bias)"),
    ("_to_nchw_last", "*", "layout (+ bias)"),
    ("_weight_matrix_last", "*", "layout (+ bias)"),
    ("copyto", "_to_nchw", "layout (+ bias)"),
    ("_from_nchw", "*", "layout (+ bias)"),
    ("copyto", "_from_nchw", "layout (+ bias)"),
    ("copyto", "channels", "layout (+ bias)"),
    ("copyto", "run", "layout (+ bias)"),
    ("ascontiguousarray", "*", "layout (+ bias)"),
    ("_flipped_weights", "*", "layout (+ bias)"),
    ("_product_to_nchw", "*", "products (BLAS)"),
    ("_multiply_last", "*", "products (BLAS)"),
    ("product", "*", "products (BLAS)"),
    ("run", "*", "products (BLAS)"),  # the tasks' bodies: a product, or the bias added
    ("channels", "*", "products (BLAS)"),
    ("_flipped_gradients", "*", "products (BLAS)"),
    ("sum", "*", "sums (db, chunks' dw, finiteness)"),
    ("reduce", "*", "sums (db, chunks' dw, finiteness)"),
    ("_sum", "*", "sums (db, chunks' dw, finiteness)"),
    ("acquire", "*", "waiting for other threads"),
    ("get", "_worker", "waiting for other threads"),
    ("wait", "*", "waiting for other threads"),
    ("wait_for", "*", "waiting for other threads"),
]
ORDER = [
    "padding",
    "columns (im2col copy)",
    "products (BLAS)",
    "layout (+ bias)",
    "scatter (col2im)",
    "sums (db, chunks' dw, finiteness)",
    "other",
]


def _name(key) -> str:
    """pstats' key (file, line, name) → a bare function name ('copyto', 'sum', 'run')."""
    name = key[2]
    if name.startswith("<"):  # builtins: "<built-in method ….copyto>", "<method 'sum' of …>"
        inner = name.strip("<>").split()
        word = inner[1] if inner[0] == "method" else inner[-1]
        return word.strip("'").rsplit(".", 1)[-1]
    return name


def _phase(name: str, caller: str) -> str:
    for fn, called_from, phase in PHASES:
        if fn == name and called_from in ("*", caller):
            return phase
    return "other"


def _breakdown(stats: pstats.Stats, calls: int) -> dict[str, float]:
    """ms per call of each phase, from the profile's own time per (function, caller)."""
    out = dict.fromkeys(ORDER + ["waiting for other threads"], 0.0)
    for key, (_cc, _nc, _tt, _ct, callers) in stats.stats.items():
        name = _name(key)
        for caller, edge in callers.items():
            out[_phase(name, _name(caller))] += edge[2] * 1e3 / calls
        if not callers:  # the profiled call itself
            out[_phase(name, "")] += _tt * 1e3 / calls
    return out


def _layer_name(letter: str) -> str:
    """'c' → bench_rows.CONV_LAYERS' key of layer (c)."""
    from bench_rows import CONV_LAYERS

    return next(name for name in CONV_LAYERS if name.startswith(f"({letter})"))


def child(layer: str, calls: int, blocks: int) -> dict:
    """Run in a process of its own with the thread variables set: the profile and the
    alternating timings of one layer (the fwd+bwd row of scripts/bench.py)."""
    import torch
    from bench import compare
    from bench_rows import conv_rows
    from threadpoolctl import threadpool_info

    from ref_cnn._fast import threads

    n = threads.get_num_threads()
    torch.set_num_threads(n)
    wanted = f"conv2d fwd+bwd (dx, dw, db) {_layer_name(layer)}"
    row = next(r for r in conv_rows("float32") if r.name == wanted)
    ours = row.ours
    mine, torchs, ratios = compare(ours, row.theirs, calls, blocks, 0.0, 0.2)

    # Profile every thread: the worker pool is made again, its threads starting under the hook.
    profiles: list[cProfile.Profile] = []

    def start(*_):
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.enable()

    threads._forget_pool()
    threading.setprofile(start)
    main = cProfile.Profile()
    profiles.append(main)
    main.enable()
    for _ in range(calls):
        ours()
    for prof in profiles:
        prof.disable()
    threading.setprofile(None)
    stats = pstats.Stats(profiles[0])
    for prof in profiles[1:]:
        stats.add(prof)
    blas = [
        f"{i['internal_api']} {i.get('version')}, kernel {i.get('architecture')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return {
        "threads": n,
        "phases_ms": _breakdown(stats, calls),
        "ref_cnn_ms": mine * 1e3,
        "torch_ms": torchs * 1e3,
        "ratio": statistics.median(ratios),
        "blas": sorted(set(blas)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layer", default="c", choices="abcde", help="default c")
    parser.add_argument("--threads", default="1,2", help="comma-separated (default 1,2)")
    parser.add_argument("--calls", type=int, default=10, help="calls per block (default 10)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks per library (default 5)")
    parser.add_argument("--json-out", type=Path, help="also write the results here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.layer, args.calls, args.blocks)))
        return 0
    from bench_machine import cpu_model_and_flags, default_kernel_env

    counts = [int(t) for t in args.threads.split(",")]
    results = []
    for n in counts:
        cmd = [sys.executable, __file__, "--child", str(n), "--layer", args.layer]
        cmd += ["--calls", str(args.calls), "--blocks", str(args.blocks)]
        run = subprocess.run(cmd, env=default_kernel_env(n), capture_output=True, text=True)
        if run.returncode:
            sys.stderr.write(run.stderr)
            return run.returncode
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    model, flags = cpu_model_and_flags()
    print(f"conv2d fwd+bwd (dx, dw, db) {_layer_name(args.layer)}, float32")
    print(f"CPU: {model}, {os.cpu_count()} CPUs; SIMD: {' '.join(flags)}")
    print(f"BLAS: {'; '.join(results[0]['blas'])} (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset)")
    print()
    print(
        "| phase (thread ms per call) | "
        + " | ".join(f"{r['threads']} thr" for r in results)
        + " |"
    )
    print("|---|" + "---|" * len(results))
    for phase in ORDER:
        print(f"| {phase} | " + " | ".join(f"{r['phases_ms'][phase]:.2f}" for r in results) + " |")
    rows = [
        (
            "waiting for other threads",
            lambda r: f"{r['phases_ms']['waiting for other threads']:.2f}",
        ),
        ("**ref_cnn wall ms** (no profiler)", lambda r: f"**{r['ref_cnn_ms']:.2f}**"),
        ("torch wall ms", lambda r: f"{r['torch_ms']:.2f}"),
        ("ratio ref_cnn / torch", lambda r: f"{r['ratio']:.2f}"),
    ]
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            ours = base["ref_cnn_ms"] / r["ref_cnn_ms"]
            theirs = base["torch_ms"] / r["torch_ms"]
            print(
                f"\n1→{r['threads']}-thread speedup: ref_cnn {ours:.2f}×, torch {theirs:.2f}× "
                f"({100 * ours / theirs:.0f} % of torch's)"
            )
    if args.json_out:
        meta = {"layer": args.layer, "cpu": model, "flags": flags, "results": results}
        tmp = args.json_out.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1))
        tmp.replace(args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
