"""BENCHMARKS.md from the results of `scripts/bench.py`: the machine, the targets with their
measured values, the ratio and scaling tables over thread counts, and one table per count."""

from __future__ import annotations

import statistics

# ResNet-18 rows' blocks per library: bench.py's default, and that of runs saved before the
# option existed (their runs.json entry has no resnet_blocks)
RESNET_BLOCKS = 3

CONV_FB = "conv2d fwd+bwd (dx, dw, db)"


def _median(ratios):
    return statistics.median(ratios) if ratios else None


def _ratio(ratios) -> str:
    """Median ratio over block pairs, with the lowest and highest in brackets."""
    if not ratios:
        return "–"
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def _index(runs) -> dict[tuple[str, str], dict[int, dict]]:
    """(name, dtype) → {threads: row}; a row seen in several runs of one count keeps the first."""
    table: dict[tuple[str, str], dict[int, dict]] = {}
    for run in runs:
        for row in run["rows"]:
            table.setdefault((row["name"], row["dtype"]), {}).setdefault(run["threads"], row)
    return table


def _find(table, prefix: str, dtype: str):
    return {k: v for k, v in table.items() if k[0].startswith(prefix) and k[1] == dtype}


def _layer(name: str) -> str:
    for tag in ("(a)", "(b)", "(c)", "(d)", "(e)"):
        if tag in name:
            return tag
    if "ResNet" in name:
        return "ResNet-18"
    return name.split(" fwd")[0] if "pool" in name else ""


def _worst(rows: dict, threads: int, bound: float):
    """The largest median ratio among `rows` at `threads`, as (text, met)."""
    vals = [
        (_median(by_t[threads]["ratios"]), _layer(name))
        for (name, _), by_t in rows.items()
        if threads in by_t and by_t[threads]["ratios"]
    ]
    if not vals:
        return None
    worst, who = max(vals)
    return f"{worst:.2f} {who}", worst <= bound


def targets(runs) -> list[tuple[str, dict[int, tuple[str, bool]]]]:
    """Every target with its measured value per thread count: [(target, {threads: (text, met)})]."""
    table = _index(runs)
    counts = sorted({r["threads"] for r in runs})
    gemm = {r["threads"]: r["gemm_gflops"] for r in runs}
    out = []

    def each(label, fn, where=counts):
        vals = {t: v for t in where if (v := fn(t)) is not None}
        if vals:
            out.append((label, vals))

    conv32, conv64 = _find(table, CONV_FB, "float32"), _find(table, CONV_FB, "float64")
    each(
        "conv2d fwd+bwd float32 ≤ 2× torch, (a)–(e) (worst)",
        lambda t: _worst(conv32, t, 2.0),
        [t for t in counts if t <= 2],
    )
    fb = {**{k: v for k, v in conv32.items() if _layer(k[0]) in ("(c)", "(d)", "(e)")}}
    fb.update(_find(table, "ResNet-18 fwd+bwd", "float32"))
    if 1 in counts:

        def speedup_share(t):
            # (ours₁/ours_t) / (torch₁/torch_t) = ratio₁ / ratio_t, each ratio the median
            # over neighbouring pairs of blocks: the machine's drift between the two
            # processes (minutes apart) cancels within each pair
            vals = []
            for (name, _), by_t in fb.items():
                if 1 in by_t and t in by_t and by_t[1]["ratios"] and by_t[t]["ratios"]:
                    share = _median(by_t[1]["ratios"]) / _median(by_t[t]["ratios"])
                    vals.append((share, _layer(name)))
            if not vals:
                return None
            low, who = min(vals)
            return f"{100 * low:.0f} % {who}", low >= 0.85

        each(
            "ref_cnn's 1→2-thread speedup ≥ 85 % of torch's, (c), (d), (e), ResNet-18 (lowest)",
            speedup_share,
            [t for t in counts if t == 2],
        )
    d = _find(table, CONV_FB + " (d)", "float32")

    def gemm_share(t):
        for by_t in d.values():
            if t in by_t:
                share = by_t[t]["flops"] / by_t[t]["ours"] / 1e9 / gemm[t]
                return f"{100 * share:.0f} %", share >= 0.6
        return None

    each("(d) fwd+bwd float32 at ≥ 60 % of the float32 GEMM rate", gemm_share)
    top = [t for t in counts if t >= 16]
    c_d_resnet = {k: v for k, v in conv32.items() if _layer(k[0]) in ("(c)", "(d)")}
    c_d_resnet.update(_find(table, "ResNet-18 fwd+bwd", "float32"))
    each("(c), (d), ResNet-18 fwd+bwd ≤ 2.5× torch at 16 threads (worst)",
         lambda t: _worst(c_d_resnet, t, 2.5), top)  # fmt: skip
    for dt in ("float32", "float64"):
        av = _find(table, "AV training step", dt)
        each(f"AV training step {dt} ≤ 1.3× torch", lambda t, av=av: _worst(av, t, 1.3))
    each("conv2d fwd+bwd float64 ≤ 1.5× torch, (a)–(e) (worst)", lambda t: _worst(conv64, t, 1.5))
    fwd = _find(table, "conv2d forward", "float32")
    each("conv2d forward float32 ≤ 2.5× torch (worst)", lambda t: _worst(fwd, t, 2.5))
    pools = {k: v for k, v in table.items() if "pool2d" in k[0] and "fwd+bwd" in k[0]}
    each("pooling fwd+bwd ≤ 3× torch (worst)", lambda t: _worst(pools, t, 3.0))
    each(
        "ResNet-18 fwd+bwd float32 ≤ 3× torch",
        lambda t: _worst(_find(table, "ResNet-18 fwd+bwd", "float32"), t, 3.0),
    )

    def memory(t):
        vals = [
            (by_t[t]["peak"] / by_t[t]["col_bytes"], _layer(name))
            for (name, _), by_t in table.items()
            if t in by_t and by_t[t]["col_bytes"]
        ]
        if not vals:
            return None
        worst, who = max(vals)
        return f"{worst:.1f}× {who}", worst <= 3.0

    each("conv peak extra memory ≤ 3× the im2col matrix (worst)", memory)
    return out


def targets_text(runs) -> str:
    lines = []
    for label, vals in targets(runs):
        got = ", ".join(
            f"{t} thr: {text} {'met' if ok else 'MISSED'}" for t, (text, ok) in vals.items()
        )
        lines.append(f"{label}: {got}")
    return "\n".join(lines)


def _machine(runs) -> list[str]:
    info = runs[0]["info"]
    gemm = ", ".join(f"{r['threads']} thr {r['gemm_gflops']:.0f}" for r in runs)
    forced = info.get("forced_kernel") or {}
    return [
        f"- CPU: {info['cpu']}, {info['cpus']} CPUs available; SIMD flags: {' '.join(info['flags']) or 'unknown'}",
        f"- Python {info['python']}, NumPy {info['numpy']}, torch {info['torch']} ({info['torch_backend']} convolutions)",
        f"- BLAS: {info['blas']}"
        + (
            f" — FORCED by {forced}"
            if forced
            else " (the library's default kernel: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)"
        ),
        f"- float32 GEMM 2048² (NumPy's BLAS), GFLOP/s: {gemm}",
        f"- ref_cnn's conv2d kernels: {info.get('conv_kernels', 'NumPy')}",
    ]


def markdown(runs, args) -> str:
    runs = sorted(runs, key=lambda r: r["threads"])
    counts = [r["threads"] for r in runs]
    table = _index(runs)
    gemm = {r["threads"]: r["gemm_gflops"] for r in runs}
    resnet_blocks = getattr(args, "resnet_blocks", RESNET_BLOCKS)
    lines = [
        "# Benchmarks",
        "",
        *_machine(runs),
        "",
        f"Thread counts: {', '.join(map(str, counts))}. Each count runs in its own process with "
        "OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and REF_CNN_NUM_THREADS set to it "
        "and `torch.set_num_threads` likewise. Every row alternates blocks of ref_cnn and torch "
        f"calls ({args.blocks} each, {resnet_blocks} for ResNet-18; at least {args.reps} calls and "
        f"{args.min_seconds} s per block after a warm-up call, each block after a {args.pause} s "
        "pause so that the other library's threads have stopped spinning). Times: medians over "
        "all calls. ratio = ref_cnn / torch (lower is better): the median over the pairs of "
        "neighbouring blocks, in brackets the lowest and highest pair. GFLOP/s: the products' "
        "multiply-adds ×2 per second, and in brackets the fraction of the float32 GEMM rate at "
        "that thread count (float64 rows: of the float32 rate too). Peak memory: the largest "
        "extra allocation during one ref_cnn call, counting the work buffers conv2d keeps "
        "between calls; for conv rows also as a multiple of the im2col matrix.",
        "",
        f"Rerun: `python scripts/bench.py --threads {','.join(map(str, counts))} "
        f"--dtypes {args.dtypes} --blocks {args.blocks} --reps {args.reps} "
        f"--min-seconds {args.min_seconds} --pause {args.pause} --resnet-batch {args.resnet_batch}"
        f"{f' --resnet-blocks {resnet_blocks}' if resnet_blocks != RESNET_BLOCKS else ''}`.",
        "",
        "## Targets",
        "",
        "| target | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for label, vals in targets(runs):
        cells = [
            (f"{vals[t][0]} {'✓' if vals[t][1] else '✗'}" if t in vals else "") for t in counts
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## ref_cnn / torch by thread count",
        "",
        "| benchmark | dtype | " + " | ".join(map(str, counts)) + " |",
        "|---|---|" + "---|" * len(counts),
    ]
    for (name, dt), by_t in table.items():
        cells = [
            f"{_median(by_t[t]['ratios']):.2f}" if t in by_t and by_t[t]["ratios"] else ""
            for t in counts
        ]
        lines.append(f"| {name} | {dt} | " + " | ".join(cells) + " |")
    if len(counts) > 1 and counts[0] == 1:
        lines += [
            "",
            "## Scaling: speedup from 1 thread (ref_cnn / torch)",
            "",
            "| benchmark | dtype | " + " | ".join(f"1→{t}" for t in counts[1:]) + " |",
            "|---|---|" + "---|" * (len(counts) - 1),
        ]
        for (name, dt), by_t in table.items():
            if 1 not in by_t or by_t[1]["theirs"] is None:
                continue
            cells = []
            for t in counts[1:]:
                if t not in by_t:
                    cells.append("")
                    continue
                ours = by_t[1]["ours"] / by_t[t]["ours"]
                theirs = by_t[1]["theirs"] / by_t[t]["theirs"]
                cells.append(f"{ours:.2f} / {theirs:.2f}")
            lines.append(f"| {name} | {dt} | " + " | ".join(cells) + " |")
    for t in counts:
        lines += [
            "",
            f"## {t} thread{'s' * (t > 1)}",
            "",
            "| benchmark | dtype | ref_cnn ms | torch ms | ratio | GFLOP/s ref_cnn | GFLOP/s torch | peak extra memory |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for (name, dt), by_t in table.items():
            if t not in by_t:
                continue
            r = by_t[t]
            rates = ["", ""]
            if r["flops"]:
                for i, secs in enumerate((r["ours"], r["theirs"])):
                    if secs:
                        rate = r["flops"] / secs / 1e9
                        rates[i] = f"{rate:.0f} ({rate / gemm[t]:.2f})"
            mem = f"{r['peak'] / 2**20:.1f} MiB" + (
                f" ({r['peak'] / r['col_bytes']:.1f}× im2col)" if r["col_bytes"] else ""
            )
            theirs = "–" if r["theirs"] is None else f"{r['theirs'] * 1e3:.2f}"
            lines.append(
                f"| {name} | {dt} | {r['ours'] * 1e3:.2f} | {theirs} | {_ratio(r['ratios'])} "
                f"| {rates[0]} | {rates[1]} | {mem} |"
            )
    lines += [
        "",
        "The literal-loop row compares ref_cnn's loop transcription with its own fast path "
        "(the second column), at the first thread count only.",
    ]
    return "\n".join(lines) + "\n"
