#!/usr/bin/env python
"""Benchmarks: ref_cnn's NumPy ops next to torch's CPU kernels, swept over thread counts.

    python scripts/bench.py                       # 1 and all cores; prints the targets
    python scripts/bench.py --save epyc2          # keep the run, rewrite its BENCHMARKS.md block
    python scripts/bench.py --threads 1,2,4,8,16  # the sweep
    python scripts/bench.py --only conv2d         # rows whose name contains "conv2d"

Each thread count runs in its own process (`--child`), started with OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS and REF_CNN_NUM_THREADS set to it (and torch's
`set_num_threads`), so the sweep needs no threadpoolctl. The whole run uses the BLAS
library's default kernel: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which force one, are
removed from the environment (the script starts itself again without them, before NumPy
loads) and the kernel it got is printed.

Every row is measured in alternating blocks (all ref_cnn repetitions, then all torch
repetitions, and again), never one call of each in turn: each library's worker threads
keep spinning after a call and would slow the other. Times are medians over all
repetitions after a warm-up; the ratio is ref_cnn / torch, the median over pairs of
neighbouring blocks. Peak memory is the largest extra allocation of one ref_cnn call
(tracemalloc, which sees NumPy's buffers). Each process also times a float32 GEMM
(2048², NumPy's BLAS) as the machine's ceiling for the conv rows' GFLOP/s.
"""

from __future__ import annotations

import os
import sys

from bench_machine import FORCED_KERNEL_VARS, default_kernel_env
from bench_report import RESNET_BLOCKS

if __name__ == "__main__" and any(v in os.environ for v in FORCED_KERNEL_VARS):
    # Start again on BLAS's default kernel (the variables are read when the library loads).
    os.execve(sys.executable, [sys.executable, *sys.argv], default_kernel_env())

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(fn: Callable, reps: int, min_seconds: float, pause: float) -> list[float]:
    """At least `reps` calls and `min_seconds` of them, after a pause that lets the other
    library's worker threads stop spinning (OpenMP spins for up to ~0.2 s after a call);
    the first call of the block is dropped."""
    time.sleep(pause)
    out, start_block = [], time.perf_counter()
    fn()
    while len(out) < reps or time.perf_counter() - start_block < min_seconds:
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def compare(ours: Callable, theirs: Callable | None, reps, blocks, min_seconds, pause):
    """Alternating blocks: ours, theirs, ours, theirs, … Returns the medians over all
    repetitions and the ratio ours/theirs of each pair of neighbouring blocks (the machine's
    speed drifts by tens of percent over seconds; a pair of blocks shares its conditions)."""
    ours(), theirs and theirs()  # warm-up
    a, b, ratios = [], [], []
    for _ in range(blocks):
        block = timed(ours, reps, min_seconds, pause)
        a += block
        if theirs is not None:
            other = timed(theirs, reps, min_seconds, pause)
            b += other
            ratios.append(statistics.median(block) / statistics.median(other))
    return statistics.median(a), statistics.median(b) if b else None, ratios


def peak_memory(fn: Callable) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def gemm_gflops(seconds: float = 1.0) -> float:
    """The float32 GEMM rate of NumPy's BLAS (2048² · 2048², the median of repeated calls)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2048, 2048), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    times = timed(lambda: np.matmul(a, b, out=out), 5, seconds, 0.0)
    return 2 * 2048**3 / statistics.median(times) / 1e9


def child(args) -> int:
    """One thread count: every row, written as JSON to args.json."""
    import bench_rows
    import numpy as np
    import torch
    from bench_machine import machine_info

    import ref_cnn
    from ref_cnn._fast import scratch

    threads = args.child
    torch.set_num_threads(threads)
    ref_cnn.set_num_threads(threads)
    try:
        from tqdm import tqdm
    except ImportError:  # a plain loop without the progress bar

        def tqdm(x, **_):
            return x

    info = machine_info()
    print(f"[{threads} threads] {info['blas']}", flush=True)
    gemm = gemm_gflops()
    print(f"[{threads} threads] float32 GEMM 2048²: {gemm:.0f} GFLOP/s", flush=True)
    dtypes = [np.dtype(d).type for d in args.dtypes.split(",")]
    sources = [
        (d, r)
        for d, r in bench_rows.all_rows(dtypes, args.resnet_batch)
        if (not args.only or args.only in r.name) and (args.first or not r.first_sweep_only)
    ]
    rows = []
    for dtype, row in tqdm(sources, desc=f"{threads} threads", file=sys.stderr):
        resnet = "ResNet" in row.name
        t_ours, t_theirs, ratios = compare(
            row.ours,
            row.theirs,
            1 if row.slow else args.reps,
            blocks=args.resnet_blocks if resnet else args.blocks,
            min_seconds=0 if resnet else 2.5 * args.min_seconds if row.slow else args.min_seconds,
            pause=args.pause,
        )
        t_ours *= row.scale
        ratios = [r * row.scale for r in ratios]
        scratch.release()  # count the work buffers conv2d keeps between calls, too
        peak = peak_memory(row.ours)
        dt = np.dtype(dtype).name
        rows.append(
            {
                "name": row.name,
                "dtype": dt,
                "ours": t_ours,
                "theirs": t_theirs,
                "ratios": ratios,
                "peak": peak,
                "col_bytes": row.col_bytes,
                "flops": row.flops,
            }
        )
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "–"
        theirs = "" if t_theirs is None else f"{t_theirs * 1e3:10.2f} ms"
        print(
            f"[{threads}] {row.name:<62} {dt:<8} {t_ours * 1e3:10.2f} ms {theirs} {ratio:>6}",
            flush=True,
        )
    Path(args.json).write_text(
        json.dumps({"threads": threads, "info": info, "gemm_gflops": gemm, "rows": rows})
    )
    return 0


def _positive(text: str) -> int:
    """argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer (e.g. 5)")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark ref_cnn against torch on the CPU over thread counts."
    )
    parser.add_argument("--threads", help="comma-separated thread counts (default: 1 and all CPUs)")
    parser.add_argument("--only", help="run only rows whose name contains this text")
    parser.add_argument("--dtypes", default="float32,float64", help="default float32,float64")
    parser.add_argument(
        "--reps", type=_positive, default=5, help="repetitions per block (default 5)"
    )
    parser.add_argument(
        "--blocks", type=_positive, default=5, help="blocks per library (default 5)"
    )
    parser.add_argument(
        "--min-seconds", type=float, default=0.2, help="least time per block (default 0.2)"
    )
    parser.add_argument(
        "--pause", type=float, default=0.5, help="pause before each block, s (default 0.5)"
    )
    parser.add_argument(
        "--resnet-batch", type=_positive, default=8, help="ResNet-18 batch size (default 8)"
    )
    parser.add_argument(
        "--resnet-blocks",
        type=_positive,
        default=RESNET_BLOCKS,
        help=f"blocks per library for the ResNet-18 rows, one call each (default {RESNET_BLOCKS})",
    )
    parser.add_argument(
        "--save",
        metavar="NAME",
        help="keep the results as docs/bench_runs/NAME.json (the latest run of this machine) and "
        "rewrite BENCHMARKS.md's generated blocks, leaving its hand-written text as it is",
    )
    parser.add_argument("--title", help="the machine's name in BENCHMARKS.md (with --save)")
    parser.add_argument("--out", type=Path, help="also write all the tables to this file")
    parser.add_argument("--json-out", type=Path, help="also keep every process's results here")
    parser.add_argument(
        "--from-json", type=Path, nargs="+", help="only write the tables from these"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    import bench_report

    if args.from_json:
        runs = [r for p in args.from_json for r in json.loads(p.read_text())]
    else:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        counts = [int(t) for t in (args.threads or f"1,{cpus}").split(",")]
        counts = sorted(set(counts))
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, threads in enumerate(counts):
                out = Path(tmp) / f"{threads}.json"
                cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])]
                cmd += ["--child", str(threads), "--json", str(out)] + (
                    ["--first"] if i == 0 else []
                )
                subprocess.run(cmd, env=default_kernel_env(threads), check=True)
                runs.append(json.loads(out.read_text()))
                if args.json_out:  # after each count: a run cut short keeps what it measured
                    args.json_out.write_text(json.dumps(runs))
    print(bench_report.targets_text(runs))
    from ref_cnn._io import write_atomic

    if args.out:
        write_atomic(args.out, bench_report.markdown(runs, args))
        print(f"wrote {args.out}")
    if args.save and not args.only:
        save(args.save, runs, args)
    return 0


def save(name: str, runs: list[dict], args) -> None:
    """Keep `runs` as docs/bench_runs/NAME.json, name it in runs.json as this machine's latest
    run, and regenerate BENCHMARKS.md's blocks (adding a section for a new machine)."""
    import docs_site

    from ref_cnn._io import write_atomic

    runs_dir = ROOT / "docs" / "bench_runs"
    write_atomic(runs_dir / f"{name}.json", json.dumps(runs))
    manifest_path = runs_dir / "runs.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    keys = ("dtypes", "blocks", "reps", "min_seconds", "pause", "resnet_batch", "resnet_blocks")
    manifest[name] = {
        "title": args.title or manifest.get(name, {}).get("title") or runs[0]["info"]["cpu"],
        "files": [f"{name}.json"],
        "args": {k: getattr(args, k) for k in keys},
    }
    write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
    bench_md = ROOT / "BENCHMARKS.md"
    text = bench_md.read_text(encoding="utf-8")
    if f"<!-- bench-{name}:start -->" not in text:
        title = manifest[name]["title"]
        text += f"\n## {title}: the latest full run\n\n<!-- bench-{name}:start -->\n<!-- bench-{name}:end -->\n"
    write_atomic(bench_md, docs_site.replace_blocks(text, docs_site.benchmarks_blocks()))
    print(f"wrote {runs_dir / (name + '.json')} and BENCHMARKS.md's generated blocks")


if __name__ == "__main__":
    sys.exit(main())
