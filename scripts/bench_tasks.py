#!/usr/bin/env python
"""Where ref_cnn's threads go: every task of a parallel region timed on its own.

    python scripts/bench_tasks.py 1 4 16     # one process per thread count
    python scripts/bench_tasks.py --gil      # does NumPy's matmul let the GIL go?
    python scripts/bench_tasks.py --limits   # GIL cost per call, memory bandwidth, by threads

For a few ops (max-pool 2x2, conv2d layer (c) forward + backward, ReLU backward) it prints
the median wall time of a call and, for one call, the number of tasks, the sum of their
times, the median and the slowest task. Where the sum grows with the thread count the
tasks are waiting on each other: NumPy releases the GIL inside each call, but every call
takes it back, so a task made of many short NumPy calls waits for the GIL once per call,
and with many threads those waits add up (a region of one long call per task, like ReLU's,
keeps its sum). Each process runs on the default BLAS kernel with BLAS and ref_cnn on the
given number of threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_machine import default_kernel_env

ROOT = Path(__file__).resolve().parents[1]


def child(n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import ref_cnn
    from ref_cnn import functional as F
    from ref_cnn._fast import conv_numpy as _conv_kernels
    from ref_cnn._fast import pool_numpy as _pool_kernels
    from ref_cnn._fast import threads

    ref_cnn.set_num_threads(n)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    dyp = rng.standard_normal((64, 32, 14, 14)).astype(np.float32)
    xc = rng.standard_normal((64, 32, 14, 14)).astype(np.float32)
    wc = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    dyc = rng.standard_normal((64, 64, 14, 14)).astype(np.float32)
    xr = rng.standard_normal((64, 64, 14, 14)).astype(np.float32)
    xa = rng.standard_normal((200, 1, 28, 28)).astype(np.float32)
    wa = rng.standard_normal((3, 1, 5, 5)).astype(np.float32)
    dya = rng.standard_normal((200, 3, 24, 24)).astype(np.float32)
    ops = {
        "max_pool2d 2x2 fwd+bwd x(64,32,28,28)": lambda: (
            F.max_pool2d(x, 2),
            F.max_pool2d_backward(dyp, x, 2),
        ),
        "conv2d fwd+bwd (c) x(64,32,14,14) w(64,32,3,3) p1": lambda: (
            F.conv2d(xc, wc, padding=1),
            F.conv2d_backward(dyc, xc, wc, padding=1),
        ),
        "relu_backward (64,64,14,14)": lambda: F.relu_backward(dyc, xr),
        "conv2d fwd+bwd (dw only) AV x(200,1,28,28) w(3,1,5,5)": lambda: (
            F.conv2d(xa, wa),
            F.conv2d_backward(dya, xa, wa, need_dx=False),
        ),
    }
    spent: list[float] = []
    original = threads.parallel_map

    def timed_map(fn, items, blas=True):
        def task(item):
            start = time.perf_counter()
            try:
                return fn(item)
            finally:
                spent.append(time.perf_counter() - start)

        return original(task, items, blas)

    out = {"threads": n}
    for name, op in ops.items():
        op()
        calls = []
        for _ in range(15):
            start = time.perf_counter()
            op()
            calls.append(time.perf_counter() - start)
        modules = (threads, _conv_kernels, _pool_kernels)
        for m in modules:
            m.parallel_map = timed_map
        spent.clear()
        op()
        for m in modules:
            m.parallel_map = original
        tasks = sorted(spent) or [0.0]
        out[name] = {
            "ms per call": round(sorted(calls)[7] * 1e3, 2),
            "tasks": len(spent),
            "sum of task ms": round(sum(tasks) * 1e3, 2),
            "median task ms": round(tasks[len(tasks) // 2] * 1e3, 3),
            "slowest task ms": round(tasks[-1] * 1e3, 3),
        }
    return out


def gil_probe() -> None:
    """Per-call time of a product with a long inner axis (K = 28,800) when two threads each
    run their own, over the time on one thread: about 1 where NumPy lets the GIL go during
    the product, about 2 where it keeps it. NumPy's matmul decides by the size of the
    result (`ref_cnn._fast.products`); `products.product` cuts small results' inner axis."""

    import numpy as np
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(ROOT))
    from ref_cnn._fast import products

    def per_call(fn, n_threads: int) -> float:
        times: list[float] = []

        def work() -> None:
            fn()
            start = time.perf_counter()
            for _ in range(40):
                fn()
            times.append((time.perf_counter() - start) / 40)

        _in_threads([work] * n_threads)
        return max(times)

    rng = np.random.default_rng(0)
    print("result M x N | elements | np.matmul 2-thread / 1-thread | products.product")
    with threadpool_limits(1):
        for m, n in ((3, 25), (20, 25), (3, 167), (24, 25)):
            a = rng.standard_normal((m, 28800)).astype(np.float32)
            b = rng.standard_normal((28800, n)).astype(np.float32)
            ratios = [
                per_call(lambda f=f, a=a, b=b: f(a, b), 2)
                / per_call(lambda f=f, a=a, b=b: f(a, b), 1)
                for f in (np.matmul, products.product)
            ]
            print(f"{m} x {n} | {m * n} | {ratios[0]:.2f} | {ratios[1]:.2f}")


def _thread_counts() -> list[int]:
    cpus = len(os.sched_getaffinity(0))
    return sorted({1, 2, *(2**k for k in range(2, cpus.bit_length()) if 2**k <= cpus), cpus})


def _in_threads(jobs: list) -> float:
    """Wall time of running every job on a thread of its own, all at once."""
    import threading

    workers = [threading.Thread(target=job) for job in jobs]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start


def limits_probe() -> None:
    """The two limits of ref_cnn's threads on this machine, by thread count:

    - the GIL: T threads each make 20,000 NumPy calls of about a microsecond of work (each
      call lets the GIL go and takes it back); the time per call over all threads together.
      Where it grows past the 1-thread time, the calls queue for the GIL: a region of many
      tasks × many calls costs that much per call, one call at a time;
    - memory bandwidth: T threads each copy their own slice of a 256 MiB float32 array
      (NumPy releases the GIL in the copy); read + write bytes per second. Passes over
      memory (column matrices, layout copies, batch norm, pooling) gain no more than this
      from more threads.
    """
    import statistics

    import numpy as np

    a, b = np.ones(4096, np.float32), np.ones(4096, np.float32)
    src = np.ones(64 * 2**20, np.float32)
    dst = np.empty_like(src)

    def short_calls() -> None:
        for _ in range(20000):
            np.add(a, b, out=b)

    def copy(lo: int, hi: int) -> None:
        np.copyto(dst[lo:hi], src[lo:hi])

    print("threads | us per short NumPy call (all threads) | copy GB/s (read + write)")
    for n in _thread_counts():
        per_call = _in_threads([short_calls] * n) / (20000 * n) * 1e6
        cuts = [(src.size * i // n, src.size * (i + 1) // n) for i in range(n)]
        jobs = [lambda c=c: copy(*c) for c in cuts]
        _in_threads(jobs)  # first touch of dst
        seconds = statistics.median(_in_threads(jobs) for _ in range(5))
        print(f"{n} | {per_call:.2f} | {2 * src.nbytes / seconds / 1e9:.1f}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--gil"]:
        gil_probe()
        return 0
    if argv[:1] == ["--limits"]:
        limits_probe()
        return 0
    if argv[:1] == ["--child"]:
        print(json.dumps(child(int(argv[1]))))
        return 0
    counts = [int(a) for a in argv] or [1, len(os.sched_getaffinity(0))]
    print("threads | op | ms per call | tasks | sum of task ms | median task | slowest task")
    for n in counts:
        res = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            env=default_kernel_env(n),
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(res.stdout.strip().splitlines()[-1])
        for name, r in result.items():
            if name != "threads":
                print(
                    f"{n} | {name} | {r['ms per call']} | {r['tasks']} | {r['sum of task ms']} | "
                    f"{r['median task ms']} | {r['slowest task ms']}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
