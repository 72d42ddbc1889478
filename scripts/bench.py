#!/usr/bin/env python
"""Benchmarks: ref_cnn's NumPy ops next to torch's CPU kernels, in one process.

Every row is measured in alternating blocks (all ref_cnn repetitions, then all torch
repetitions, and again), never one call of each in turn: each library's worker threads
keep spinning after a call and would slow the other. Times are medians over all
repetitions after a warm-up; the ratio is ref_cnn / torch. Peak memory is the largest
extra allocation of one ref_cnn call (tracemalloc, which sees NumPy's buffers).

    .venv/bin/python scripts/bench.py                # everything, writes BENCHMARKS.md
    .venv/bin/python scripts/bench.py --only conv    # rows whose name contains "conv"
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as tf
from threadpoolctl import threadpool_info
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ref_cnn import functional as F  # noqa: E402
from ref_cnn import literal  # noqa: E402
from ref_cnn._io import write_atomic  # noqa: E402
from ref_cnn.functional import scratch  # noqa: E402


def timed(fn: Callable, reps: int, min_seconds: float) -> list[float]:
    """At least `reps` calls and `min_seconds` of them, after a pause that lets the other
    library's worker threads stop spinning (OpenMP spins for up to ~0.2 s after a call);
    the first call of the block is dropped."""
    time.sleep(0.3)
    out, start_block = [], time.perf_counter()
    fn()
    while len(out) < reps or time.perf_counter() - start_block < min_seconds:
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def compare(
    ours: Callable, theirs: Callable | None, reps: int, blocks: int = 5, min_seconds: float = 0.2
):
    """Alternating blocks: ours, theirs, ours, theirs, … Returns the medians over all
    repetitions and the ratio ours/theirs of each pair of neighbouring blocks (the machine's
    speed drifts by tens of percent over seconds; a pair of blocks shares its conditions)."""
    ours(), theirs and theirs()  # warm-up
    a, b, ratios = [], [], []
    for _ in range(blocks):
        block = timed(ours, reps, min_seconds)
        a += block
        if theirs is not None:
            other = timed(theirs, reps, min_seconds)
            b += other
            ratios.append(statistics.median(block) / statistics.median(other))
    return statistics.median(a), statistics.median(b) if b else None, ratios


def _ratio(ratios: list[float]) -> str:
    """Median ratio over block pairs, with the lowest and highest in brackets."""
    if not ratios:
        return "–"
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def _speedups(rows) -> list[str]:
    """The AV step against the article-style loops, from the paired rows (float64)."""
    out = []
    for name, _, _, _, ratios, *_ in rows:
        if name.startswith("article-style") and ratios:
            who = name.rsplit(" vs ", 1)[1]
            out.append(
                f"- {who}: {statistics.median(ratios):.0f}× faster than the article-style loops "
                f"({min(ratios):.0f}–{max(ratios):.0f}× over the block pairs)"
            )
    return ["", "AV training step (float64, 200 images):", "", *out] if out else []


def peak_memory(fn: Callable) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


CONV_LAYERS = {
    "(a) AV x(200,1,28,28) w(3,1,5,5)": ((200, 1, 28, 28), (3, 1, 5, 5), {}),
    "(b) x(64,1,28,28) w(32,1,5,5)": ((64, 1, 28, 28), (32, 1, 5, 5), {}),
    "(c) x(64,32,14,14) w(64,32,3,3) p1": ((64, 32, 14, 14), (64, 32, 3, 3), {"padding": 1}),
    "(d) x(32,64,32,32) w(64,64,3,3) p1": ((32, 64, 32, 32), (64, 64, 3, 3), {"padding": 1}),
    "(e) x(8,3,224,224) w(64,3,7,7) s2 p3": (
        (8, 3, 224, 224),
        (64, 3, 7, 7),
        {"stride": 2, "padding": 3},
    ),
}


def conv_rows(dtype):
    rng = np.random.default_rng(0)
    for name, (xs, ws, kw) in CONV_LAYERS.items():
        yield from _conv_layer(
            name, rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype), kw
        )


def _conv_layer(name, x, w, kw):
    b = np.random.default_rng(1).standard_normal(w.shape[0]).astype(x.dtype)
    dy = np.random.default_rng(2).standard_normal(F.conv2d(x, w, b, **kw).shape).astype(x.dtype)
    xt, wt, bt, dyt = (torch.tensor(a) for a in (x, w, b, dy))
    col_bytes = int(
        np.prod(dy.shape) // w.shape[0] * np.prod(w.shape[1:]) * x.itemsize
    )  # the im2col matrix

    def torch_fb(need_dx):
        xg = xt.clone().requires_grad_(need_dx)
        wg, bg = wt.clone().requires_grad_(), bt.clone().requires_grad_()
        tf.conv2d(xg, wg, bg, **kw).backward(dyt)

    def ours_fb(need_dx):
        F.conv2d(x, w, b, **kw)
        F.conv2d_backward(dy, x, w, need_dx=need_dx, **kw)

    return [
        (
            f"conv2d forward {name}",
            lambda: F.conv2d(x, w, b, **kw),
            lambda: tf.conv2d(xt, wt, bt, **kw),
            col_bytes,
        ),
        (
            f"conv2d fwd+bwd (dx, dw, db) {name}",
            lambda: ours_fb(True),
            lambda: torch_fb(True),
            col_bytes,
        ),
        (
            f"conv2d fwd+bwd (dw, db only) {name}",
            lambda: ours_fb(False),
            lambda: torch_fb(False),
            col_bytes,
        ),
    ]


def pool_rows(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32, 28, 28)).astype(dtype)
    xt = torch.tensor(x)
    for name, fn, tfn, kw in (
        ("max_pool2d 2x2", F.max_pool2d, tf.max_pool2d, {"kernel_size": 2}),
        (
            "max_pool2d 3x3 s2 p1",
            F.max_pool2d,
            tf.max_pool2d,
            {"kernel_size": 3, "stride": 2, "padding": 1},
        ),
        ("avg_pool2d 2x2", F.avg_pool2d, tf.avg_pool2d, {"kernel_size": 2}),
    ):
        back = F.max_pool2d_backward if fn is F.max_pool2d else F.avg_pool2d_backward
        dy = rng.standard_normal(fn(x, **kw).shape).astype(dtype)
        dyt = torch.tensor(dy)

        def torch_fb(tfn=tfn, kw=kw, dyt=dyt):
            xg = xt.clone().requires_grad_()
            tfn(xg, **kw).backward(dyt)

        yield (
            f"{name} forward x(64,32,28,28)",
            lambda fn=fn, kw=kw: fn(x, **kw),
            lambda tfn=tfn, kw=kw: tfn(xt, **kw),
            None,
        )
        yield (
            f"{name} fwd+bwd x(64,32,28,28)",
            lambda fn=fn, back=back, kw=kw, dy=dy: (fn(x, **kw), back(dy, x, **kw)),
            torch_fb,
            None,
        )


def linear_rows(dtype):
    rng = np.random.default_rng(2)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((256, 1728), (1728, 120), (120,)))
    dy = rng.standard_normal((256, 120)).astype(dtype)
    xt, wt, bt, dyt = (torch.tensor(a) for a in (x, w.T.copy(), b, dy))

    def torch_fb():
        xg, wg, bg = (a.clone().requires_grad_() for a in (xt, wt, bt))
        tf.linear(xg, wg, bg).backward(dyt)

    yield (
        "linear fwd+bwd x(256,1728) -> 120",
        lambda: (F.linear(x, w, b), F.linear_backward(dy, x, w)),
        torch_fb,
        None,
    )


def _av_step(x, y, f, w):
    """One full-batch step of AV's network: forward, backward, update (ref_cnn)."""
    from ref_cnn.av_network import av_backward, av_forward

    f, w = f.copy(), w.copy()

    def step():
        fwd = av_forward(x, f, w, None, standardized=True)
        df, dw, _ = av_backward(fwd, y, f, w)
        f.__isub__(0.5 * df)
        w.__isub__(0.5 * dw)

    return step


def _av_step_torch(x, y, f, w):
    """The same step in torch: autograd and torch.optim.SGD."""
    xt, yt = torch.tensor(x), torch.tensor(y)
    ft, wt = torch.tensor(f, requires_grad=True), torch.tensor(w, requires_grad=True)
    opt = torch.optim.SGD([ft, wt], lr=0.5)

    def step():
        opt.zero_grad()
        z2 = torch.sigmoid(tf.conv2d(xt, ft)).flatten(1) @ wt
        o = torch.sigmoid((z2 - z2.mean()) / z2.std(unbiased=False))
        (0.5 * torch.sum((yt - o) ** 2)).backward()
        opt.step()

    return step


def training_rows(dtype):
    import ref_cnn
    from ref_cnn import av_experiment as ex
    from ref_cnn import models, optim
    from ref_cnn.data import av_binary, mnist_subset

    x, y = av_binary(200)
    x, y = x.astype(dtype), y.astype(dtype)
    f, w = (a.astype(dtype) for a in ex.initial_params())
    yield (
        "AV training step (200 images, standardised)",
        _av_step(x, y, f, w),
        _av_step_torch(x, y, f, w),
        None,
    )

    data = mnist_subset()
    xb, yb = data.x[:64].astype(dtype), data.y[:64]
    model = models.lenet().astype(dtype)
    opt = optim.SGD(model, lr=0.05, momentum=0.9)
    tmodel = models.torch_twin("lenet").to(torch.float32 if dtype == np.float32 else torch.float64)
    ref_cnn.to_torch(model, tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9)
    xbt, ybt = torch.tensor(xb), torch.tensor(yb)

    def ours():
        out = model.forward(xb)
        model.backward(F.cross_entropy_backward(out, yb))
        opt.step()

    def theirs():
        topt.zero_grad()
        tf.cross_entropy(tmodel(xbt), ybt).backward()
        topt.step()

    yield "LeNet training step (batch 64)", ours, theirs, None


def resnet_rows(dtype, batch):
    import torchvision

    import ref_cnn

    module = (
        torchvision.models.resnet18()
        .to(torch.float32 if dtype == np.float32 else torch.float64)
        .train()
    )
    twin = ref_cnn.from_torch(module, dtype=dtype)
    x = np.random.default_rng(3).standard_normal((batch, 3, 224, 224)).astype(dtype)
    xt = torch.tensor(x)
    dy = np.random.default_rng(4).standard_normal((batch, 1000)).astype(dtype)
    dyt = torch.tensor(dy)

    def theirs_fb():
        module.zero_grad()
        module(xt).backward(dyt)

    yield (
        f"ResNet-18 forward batch {batch} 224x224",
        lambda: twin.forward(x),
        lambda: module(xt),
        None,
    )
    yield (
        f"ResNet-18 fwd+bwd batch {batch} 224x224",
        lambda: (twin.forward(x), twin.backward(dy)),
        theirs_fb,
        None,
    )


def loop_rows():
    """The literal loops and an article-style per-patch AV pass (timed on a subset, extrapolated)."""
    from ref_cnn.av_experiment import initial_params
    from ref_cnn.data import av_binary

    xa, ya = av_binary(10)
    fa, wa = initial_params()
    wa = wa / 1728  # keep the sigmoids unsaturated (timing only)
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 1, 12, 12)), rng.standard_normal((3, 1, 5, 5))
    dy = rng.standard_normal((2, 3, 8, 8))
    yield (
        "literal loops: conv2d fwd+bwd x(2,1,12,12) w(3,1,5,5)",
        lambda: (literal.conv2d(x, w), literal.conv2d_backward(dy, x, w)),
        lambda: (F.conv2d(x, w), F.conv2d_backward(dy, x, w)),
        None,
    )
    # The AV step on 200 images next to the article-style loops on 10 (×20): the ratio of
    # each pair of neighbouring blocks, ×20, is the speed-up.
    x200, y200 = av_binary(200)
    for who, step in (
        ("ref_cnn", _av_step(x200, y200, fa, wa)),
        ("torch", _av_step_torch(x200, y200, fa, wa)),
    ):
        yield (
            f"article-style per-patch AV fwd+bwd, 200 images (timed on 10, ×20) vs {who}'s AV step",
            lambda: literal.av_pass_per_patch(xa, ya, fa, wa),
            step,
            None,
            20,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark ref_cnn against torch on the CPU and write BENCHMARKS.md."
    )
    parser.add_argument("--only", help="run only rows whose name contains this text")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per block (default 5)")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "BENCHMARKS.md",
        help="where to write the table (default BENCHMARKS.md)",
    )
    parser.add_argument(
        "--resnet-batch", type=int, default=8, help="ResNet-18 batch size (default 8)"
    )
    args = parser.parse_args(argv)

    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    threads = max(
        (i.get("num_threads", 1) for i in threadpool_info() if i.get("user_api") == "blas"),
        default=1,
    )
    torch.set_num_threads(threads)

    rows = []
    sources = []
    for dtype in (np.float32, np.float64):
        sources += [(dtype, r) for r in conv_rows(dtype)]
        sources += [(dtype, r) for r in pool_rows(dtype)]
        sources += [(dtype, r) for r in linear_rows(dtype)]
        sources += [(dtype, r) for r in training_rows(dtype)]
    sources += [(np.float32, r) for r in resnet_rows(np.float32, args.resnet_batch)]
    sources += [(np.float64, r) for r in loop_rows()]
    sources = [(d, r) for d, r in sources if not args.only or args.only in r[0]]
    for dtype, (name, ours, theirs, col_bytes, *scale) in tqdm(
        sources, desc="benchmarks", file=sys.stderr
    ):
        reps = 1 if "ResNet" in name or "article-style" in name or "literal" in name else args.reps
        t_ours, t_theirs, ratios = compare(
            ours,
            theirs,
            reps,
            blocks=3 if "ResNet" in name else 5,
            min_seconds=0 if "ResNet" in name else 0.5 if reps == 1 else 0.2,
        )
        if scale:  # extrapolated rows
            t_ours *= scale[0]
            ratios = [r * scale[0] for r in ratios]
        scratch.release()  # count the work buffers conv2d keeps between calls, too
        peak = peak_memory(ours)
        rows.append((name, np.dtype(dtype).name, t_ours, t_theirs, ratios, peak, col_bytes))
        ratio = _ratio(ratios)
        print(
            f"{name:<70} {np.dtype(dtype).name:<8} {t_ours * 1e3:10.2f} ms {'' if t_theirs is None else f'{t_theirs * 1e3:10.2f} ms'} {ratio:>18}",
            flush=True,
        )

    lines = [
        "# Benchmarks",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {threads} BLAS threads; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads). BLAS: {'; '.join(blas)}.",
        "",
        "Times: medians over 5 alternating blocks (ref_cnn, torch, ref_cnn, …; at least 0.2 s each, after a warm-up), in one process; each block starts after a 0.3 s pause so that "
        "the other library's threads have stopped spinning. ratio = ref_cnn / torch (lower is better; for the literal-loop row the second column is ref_cnn's fast path): the "
        "median over the 5 pairs of neighbouring blocks, and in brackets the lowest and highest pair, because this machine's speed drifts by tens of percent within seconds. "
        "Peak memory: the largest extra allocation during one ref_cnn call, counting the work buffers conv2d keeps between calls (`ref_cnn.functional.scratch`); "
        "for conv rows also as a multiple of the im2col matrix.",
        "",
        "Rerun: `.venv/bin/python scripts/bench.py` (or `--only conv2d`).",
        "",
        "| benchmark | dtype | ref_cnn ms | torch ms | ratio | peak extra memory |",
        "|---|---|---|---|---|---|",
    ]
    for name, dt, a, b, ratios, peak, col in rows:
        mem = f"{peak / 2**20:.1f} MiB" + (f" ({peak / col:.1f}× im2col)" if col else "")
        lines.append(
            f"| {name} | {dt} | {a * 1e3:.2f} | {'–' if b is None else f'{b * 1e3:.2f}'} | {_ratio(ratios)} | {mem} |"
        )
    lines += _speedups(rows)
    if not args.only:
        write_atomic(args.out, "\n".join(lines) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
