"""ref_cnn's own threads: how many there are, and the pool that runs them.

NumPy runs its matrix products on the BLAS library's threads, but everything else (the
column copies of conv2d, the scatter-adds, the layout transposes, pooling, elementwise
passes) on the one thread that called it. ref_cnn splits that work over a pool of threads:
NumPy releases the GIL inside its loops, so the threads run at the same time. Not inside
all of them: matmul keeps it for small results (`ref_cnn._fast.products` works around
that), and every call takes it back on return, as does the Python between calls. So tasks
are few and long, and the kernels keep their Python light (`pool_numpy.Phases` computes its
layout once per call, not per block). docs/design.md has the measurements.

The number of threads is, in this order of precedence:

1. the last `set_num_threads(n)`;
2. the environment variable ``REF_CNN_NUM_THREADS``;
3. the BLAS library's thread count, read with `threadpoolctl` where it is installed;
4. ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` or ``OMP_NUM_THREADS``, the first one set;
5. the number of CPUs this process may run on.

A parallel region (`parallel_map`) runs each task's products on one BLAS thread where
threadpoolctl can set that (so that our threads × BLAS threads never exceed the cores),
and splits only work that holds no BLAS call where it cannot (`blas_limitable`).
Results do not depend on the thread count: callers cut work into tasks by its shape only,
never by the number of threads, and combine the tasks' partial results in task order.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ref_cnn._checks import check_positive_int

T = TypeVar("T")

ENV_VAR = "REF_CNN_NUM_THREADS"
_BLAS_ENV_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")

_lock = threading.Lock()
_num_threads: int | None = None  # None: not decided yet (see `get_num_threads`)
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_local = threading.local()  # .worker: this thread runs a task of a parallel region
_controller = None  # threadpoolctl.ThreadpoolController, once looked up (False: unavailable)


def _env_threads(name: str) -> int | None:
    """A thread count from an environment variable ("4", or OpenMP's "4,2": the first)."""
    text = os.environ.get(name, "").split(",")[0].strip()
    if not text:
        return None
    try:
        return check_positive_int(int(text), name)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"environment variable {name}={os.environ[name]!r} must be a positive integer"
        ) from err


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (Linux)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries, or None without threadpoolctl."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController().select(user_api="blas")
        except ImportError:
            _controller = False
    return _controller or None


def rescan_blas() -> None:
    """Look for BLAS libraries again at the next use (after a module loaded another one, as
    numba's np.dot loads scipy's), so that `one_blas_thread` holds that one as well."""
    global _controller
    _controller = None


def blas_num_threads() -> int | None:
    """The BLAS library's thread count (threadpoolctl), or None where it cannot be read."""
    controller = _blas_controller()
    counts = [lib.num_threads for lib in controller.lib_controllers] if controller else []
    return max(counts) if counts else None


def default_num_threads() -> int:
    """The thread count before any `set_num_threads` (see the module's precedence list)."""
    for source in (
        lambda: _env_threads(ENV_VAR),
        blas_num_threads,
        *(lambda name=name: _env_threads(name) for name in _BLAS_ENV_VARS),
        _cpu_count,
    ):
        n = source()
        if n is not None:
            return n
    return 1  # not reached: _cpu_count always answers


def get_num_threads() -> int:
    """The number of threads ref_cnn splits its own (non-BLAS) work over."""
    global _num_threads
    if _num_threads is None:
        _num_threads = default_num_threads()
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use `n` threads for ref_cnn's own work from now on (1: all of it on the calling thread).

    The BLAS library's own thread count is left as it is (set it with threadpoolctl, or
    OPENBLAS_NUM_THREADS before NumPy loads); inside a parallel region each of our threads
    runs its products on one BLAS thread. Results are the same for every `n`.
    """
    global _num_threads
    _num_threads = check_positive_int(n, "the number of threads")


def blas_limitable() -> bool:
    """Whether a parallel region can run its BLAS calls on one BLAS thread each
    (threadpoolctl is installed and sees the BLAS library). Without it, only tasks that
    make no BLAS call may be split over threads, or the threads would multiply."""
    controller = _blas_controller()
    return bool(controller and controller.lib_controllers)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread for the duration (threadpoolctl; the setting is process-wide, so
    it is taken only while the calling thread waits on its tasks)."""
    controller = _blas_controller()
    counts = [(lib, lib.num_threads) for lib in controller.lib_controllers] if controller else []
    counts = [(lib, n) for lib, n in counts if n > 1]  # each library's count, read once
    for lib, _ in counts:  # faster than threadpoolctl's limit() (docs/design.md)
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in counts:
            lib.set_num_threads(n)


def _executor(size: int) -> ThreadPoolExecutor:
    """The shared pool, with at least `size` workers (rebuilt when the count grows)."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(size, thread_name_prefix="ref_cnn")
            _pool_size = size
        return _pool


def _forget_pool() -> None:
    """In a forked child the parent's worker threads don't exist: start a new pool there."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _run_task(fn: Callable[[T], object], item: T):
    _local.worker = True
    try:
        return fn(item)
    finally:
        _local.worker = False


def parallel_map(fn: Callable[[T], object], items: Sequence[T], blas: bool = True) -> list:
    """[fn(item) for item in items], the items shared among `get_num_threads()` threads.

    The results come back in the order of `items`. The calling thread takes part, so one
    thread (or one item, or a call from inside a task) runs everything on it, in order.
    blas: whether `fn` calls BLAS. Such tasks run in parallel only where BLAS can be held to
    one thread per task (`blas_limitable`); elsewhere they run one after another, each
    product on all of BLAS's threads. With more than one ref_cnn thread, BLAS is held to one
    thread even where there is a single item: a product on BLAS's own threads leaves them
    spinning after it returns, taking the cores from the next parallel region
    (docs/design.md, "Threads").
    """
    serial = getattr(_local, "worker", False) or get_num_threads() <= 1
    if serial or (blas and not blas_limitable()):
        return [fn(item) for item in items]
    threads = min(get_num_threads(), len(items))
    with one_blas_thread() if blas else contextlib.nullcontext():
        if threads <= 1:
            return [_run_task(fn, item) for item in items]
        pool = _executor(threads - 1)
        results: list = [None] * len(items)
        errors: dict[int, BaseException] = {}
        state = {"next": 0, "running": 0}  # the next item to take; items being run
        take = threading.Condition()

        def drain() -> None:  # each thread takes the next item until none is left
            while True:
                with take:
                    i = state["next"]
                    if i >= len(items) or errors:
                        return
                    state["next"], state["running"] = i + 1, state["running"] + 1
                error = None
                try:
                    results[i] = _run_task(fn, items[i])
                except BaseException as e:  # re-raised by the caller
                    error = e
                with take:
                    if error is not None:
                        errors[i] = error  # no item is taken after this
                    state["running"] -= 1
                    take.notify_all()

        # The caller does not wait for helpers that found nothing left to take: on a region
        # of short tasks they often wake after the caller has run every item.
        for _ in range(threads - 1):
            pool.submit(drain)
        drain()
        with take:
            take.wait_for(lambda: state["running"] == 0)
        if errors:
            raise errors[min(errors)]
    return results


# At least MIN_TASKS tasks where the work allows, none under MIN_TASK_BYTES (below it the
# Python around a task costs more than the threads save). Constants, not the thread count,
# so the cut and every result are the same on every machine (docs/design.md, "Threads").
MIN_TASKS = 4
MIN_TASK_BYTES = 2**21


def grain(count: int, unit_bytes: int, task_bytes: int, weight: float = 1.0) -> int:
    """Units per task when `count` units of `unit_bytes` each are cut into tasks of about
    `task_bytes`: fewer where that gives under MIN_TASKS tasks, but never under
    MIN_TASK_BYTES of work (`weight`: the work per byte, where a byte costs more than a
    copy), and at least one unit."""
    unit_bytes = max(int(unit_bytes), 1)
    step = min(round(task_bytes / unit_bytes), -(-count // MIN_TASKS))
    return max(1, step, math.ceil(MIN_TASK_BYTES / (unit_bytes * weight)))


def spans(n: int, grain: int) -> list[tuple[int, int]]:
    """[lo, hi) ranges of at most `grain` covering range(n), in order (at least one range),
    as few as that allows and of equal length give or take one (a short last range would
    leave a thread idle while the others finish). Cut work by its shape with this, never
    by the thread count, so that results don't depend on how many threads run them."""
    count = max(1, -(-n // max(1, grain)))
    return [(n * i // count, n * (i + 1) // count) for i in range(count)]


# Elements per task of an elementwise pass (`elementwise`), fewer where that gives under
# MIN_TASKS tasks (`grain`): a few hundred microseconds of work each, so the GIL each task
# takes back costs little next to it.
ELEMENTWISE_BLOCK = 2**20


def elementwise(fn: Callable, out, *arrays) -> None:
    """out[...] = fn(*arrays) computed block by block over the flattened arrays, in parallel.

    Every array must have out's shape; `fn` must work elementwise (so each block's result is
    the whole result's block, and the thread count changes nothing). Arrays that are not
    C-contiguous are done in one piece.
    """
    per_element = sum(a.itemsize for a in (out, *arrays))
    step = grain(out.size, per_element, ELEMENTWISE_BLOCK * per_element)
    if step >= out.size or not all(
        a.flags.c_contiguous and a.shape == out.shape for a in (out, *arrays)
    ):
        out[...] = fn(*arrays)
        return
    flat_out, flat = out.reshape(-1), [a.reshape(-1) for a in arrays]

    def block(span):
        lo, hi = span
        flat_out[lo:hi] = fn(*(a[lo:hi] for a in flat))

    parallel_map(block, spans(out.size, step), blas=False)
