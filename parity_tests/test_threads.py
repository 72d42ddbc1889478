"""ref_cnn's thread count and pool (`ref_cnn._fast.threads`): the knob, its defaults, the pool's
contract (order, nesting, errors, no oversubscription)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ref_cnn
from ref_cnn import functional as F
from ref_cnn._fast import threads

pytestmark = pytest.mark.engineering  # threads: no equation


@pytest.fixture
def fresh(monkeypatch):
    """Forget the decided thread count (and restore it afterwards)."""
    monkeypatch.setattr(threads, "_num_threads", None)
    for name in (threads.ENV_VAR, *threads._BLAS_ENV_VARS):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def no_threadpoolctl(fresh):
    """As if threadpoolctl were not installed."""
    fresh.setattr(threads, "_controller", False)
    return fresh


def test_set_and_get(fresh):
    ref_cnn.set_num_threads(3)
    assert ref_cnn.get_num_threads() == 3


@pytest.mark.parametrize("bad", [0, -2, 1.5, "4", True, None])
def test_set_rejects_bad_counts(bad):
    with pytest.raises((TypeError, ValueError), match="number of threads"):
        ref_cnn.set_num_threads(bad)


def test_env_var_comes_first(fresh):
    fresh.setenv(threads.ENV_VAR, "5")
    fresh.setenv("OMP_NUM_THREADS", "7")
    assert ref_cnn.get_num_threads() == 5


def test_env_var_must_be_a_positive_int(fresh):
    fresh.setenv(threads.ENV_VAR, "many")
    with pytest.raises(ValueError, match="REF_CNN_NUM_THREADS='many'"):
        ref_cnn.get_num_threads()


def test_default_follows_blas(fresh):
    if not threads.blas_limitable():
        pytest.skip("threadpoolctl is not installed or sees no BLAS library")
    assert ref_cnn.get_num_threads() == threads.blas_num_threads()


def test_default_without_threadpoolctl_reads_the_blas_env_vars(no_threadpoolctl):
    assert threads.blas_num_threads() is None and not threads.blas_limitable()
    no_threadpoolctl.setenv("OMP_NUM_THREADS", "6,2")  # OpenMP's nested form: the first
    assert ref_cnn.get_num_threads() == 6


def test_default_without_anything_is_the_cpu_count(no_threadpoolctl):
    assert ref_cnn.get_num_threads() == threads._cpu_count() >= 1


def test_parallel_map_keeps_the_order_and_uses_several_threads(fresh):
    ref_cnn.set_num_threads(4)
    barrier = threading.Barrier(2, timeout=10)  # passes only if two tasks run at once

    def task(i):
        if i < 2:
            barrier.wait()
        return i * i, threading.get_ident()

    out = threads.parallel_map(task, list(range(9)), blas=False)
    assert [v for v, _ in out] == [i * i for i in range(9)]
    assert len({ident for _, ident in out}) >= 2


def test_parallel_map_with_one_thread_runs_on_the_caller(fresh):
    ref_cnn.set_num_threads(1)
    me = threading.get_ident()
    assert threads.parallel_map(lambda i: threading.get_ident(), [0, 1, 2]) == [me] * 3


def test_nested_regions_run_inline(fresh):
    ref_cnn.set_num_threads(3)
    inner = threads.parallel_map(
        lambda i: threads.parallel_map(lambda j: (i, j, threading.get_ident()), [0, 1]),
        [0, 1, 2],
        blas=False,
    )
    for i, pairs in enumerate(inner):
        assert [(a, b) for a, b, _ in pairs] == [(i, 0), (i, 1)]
        assert pairs[0][2] == pairs[1][2]  # both on the thread that ran task i


def test_a_task_error_reaches_the_caller(fresh):
    ref_cnn.set_num_threads(2)

    def task(i):
        if i == 3:
            raise ArithmeticError("task 3")
        return i

    with pytest.raises(ArithmeticError, match="task 3"):
        threads.parallel_map(task, list(range(6)), blas=False)
    assert threads.parallel_map(lambda i: i, [1, 2]) == [1, 2]  # the pool still works


def test_the_caller_does_not_wait_for_helpers_that_find_no_work(fresh):
    """A helper that wakes after the caller has run every item is not waited for (it used
    to cost a thread wake-up per region): with the pool's only worker busy, a region of two
    items still returns, run on the caller."""
    ref_cnn.set_num_threads(2)
    threads.parallel_map(lambda i: i, [0, 1], blas=False)  # the pool exists
    release = threading.Event()
    busy = threads._executor(1).submit(release.wait, 10)
    try:
        done = []
        caller = threading.Thread(
            target=lambda: done.append(threads.parallel_map(lambda i: i * 2, [1, 2], blas=False))
        )
        caller.start()
        caller.join(timeout=5)
        assert done == [[2, 4]]
    finally:
        release.set()
        busy.result()


def test_blas_tasks_run_on_one_blas_thread(fresh):
    """Our threads × BLAS threads never exceed the thread count: inside a region that calls
    BLAS, BLAS runs on one thread; after it, BLAS has its own count back."""
    if not threads.blas_limitable():
        pytest.skip("threadpoolctl is not installed or sees no BLAS library")
    before = threads.blas_num_threads()
    ref_cnn.set_num_threads(2)
    seen = threads.parallel_map(lambda i: threads.blas_num_threads(), [0, 1, 2])
    assert seen == [1, 1, 1] if before > 1 else [before] * 3
    assert threads.blas_num_threads() == before


def test_without_threadpoolctl_blas_tasks_stay_on_the_caller(no_threadpoolctl):
    ref_cnn.set_num_threads(4)
    me = threading.get_ident()
    assert threads.parallel_map(lambda i: threading.get_ident(), [0, 1, 2]) == [me] * 3


@pytest.mark.parametrize(("n", "grain"), [(0, 3), (1, 3), (7, 3), (9, 3), (5, 10), (4, 0)])
def test_spans_cover_the_range_in_order(n, grain):
    out = threads.spans(n, grain)
    assert out[0][0] == 0 and out[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(out, out[1:], strict=False))
    assert all(0 < hi - lo <= max(grain, 1) for lo, hi in out) or n == 0
    assert len(out) == max(1, -(-n // max(grain, 1)))  # as few as the grain allows
    assert max(hi - lo for lo, hi in out) - min(hi - lo for lo, hi in out) <= 1  # balanced


# ---------------------------------------------------------------- the kernels on N threads

CONV_CASES = {
    "3x3-p1-flipped": ((6, 4, 9, 8), (4, 4, 3, 3), {"padding": 1}),
    "3x3-more-outputs": ((6, 3, 9, 8), (8, 3, 3, 3), {"padding": 1}),
    "3x3-twice-the-outputs-flipped": ((6, 3, 9, 8), (6, 3, 3, 3), {"padding": 1}),
    "7x7-s2-p3": ((5, 3, 16, 15), (4, 3, 7, 7), {"stride": 2, "padding": 3}),
    "1-channel-per-image": ((7, 1, 12, 12), (6, 1, 5, 5), {}),
    "groups-dilation": (
        (5, 4, 11, 10),
        (6, 2, 3, 2),
        {"padding": (2, 1), "dilation": 2, "groups": 2},
    ),
    # kernel matrix larger than the batch's columns: products cut by channels
    "kernel-heavy-3x3-p1": ((2, 24, 3, 3), (24, 24, 3, 3), {"padding": 1}),
    "kernel-heavy-3x3-s2": ((2, 24, 5, 5), (32, 24, 3, 3), {"stride": 2, "padding": 1}),
}


def test_the_kernel_heavy_cases_take_the_channel_path():
    from ref_cnn._fast import conv_numpy as kernels
    from ref_cnn.functional.conv import conv_geometry

    for name in ("kernel-heavy-3x3-p1", "kernel-heavy-3x3-s2"):
        x_shape, w_shape, kw = CONV_CASES[name]
        g = conv_geometry(np.zeros(x_shape), np.zeros(w_shape), **kw)
        assert kernels._kernel_heavy(g, 8), name


@pytest.mark.parametrize("size", ["batch-chunks", "row-bands-and-channel-blocks"])
def test_conv_cuts_cover_the_output_once(size, fresh):
    """Every output position is in exactly one piece, and (where the batch is short) the
    pieces are bands of rows and the backward's tasks blocks of channels."""
    from ref_cnn._fast import conv_numpy as kernels
    from ref_cnn.functional.conv import conv_geometry

    fresh.setattr(threads, "MIN_TASK_BYTES", 1)
    fresh.setattr(kernels, "TASK_COLUMN_BYTES", 2**22)
    x_shape = (48, 3, 11, 9) if size == "batch-chunks" else (2, 6, 11, 9)
    x, w = np.zeros(x_shape), np.zeros((4, 3 if size == "batch-chunks" else 6, 3, 3))
    g = conv_geometry(x, w, stride=2, padding=1)
    cover = np.zeros(g.out_shape, dtype=int)
    for p in kernels.pieces(g, x.itemsize):
        p.output(cover)[...] += 1
        assert p.g.out_hw == (p.r1 - p.r0, g.out_hw[1])
    np.testing.assert_array_equal(cover, 1)
    chunks, blocks = kernels._channel_blocks(g, x.itemsize)
    banded = any(not p.whole_images for p in kernels.pieces(g, x.itemsize))
    assert banded == (size != "batch-chunks") == (len(blocks) > 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_results_are_the_same_on_1_and_n_threads(case, dtype, fresh):
    """Bit for bit: the batch is cut into chunks by its shape alone (one image each here),
    the chunks' partial dw are added in chunk order, and every product sees the same operands
    whether it runs on the calling thread or a worker."""
    from ref_cnn._fast import conv_numpy as conv_module

    fresh.setattr(conv_module, "TASK_COLUMN_BYTES", 1)  # one image per chunk: many tasks
    x_shape, w_shape, kw = case
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    results = {}
    for n in (1, 3):
        ref_cnn.set_num_threads(n)
        y = F.conv2d(x, w, b, **kw)
        dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        results[n] = (y, *F.conv2d_backward(dy, x, w, **kw))
    for name, one, many in zip(("y", "dx", "dw", "db"), results[1], results[3], strict=True):
        np.testing.assert_array_equal(one, many, err_msg=name)


def test_elementwise_blocks_match_one_pass(fresh):
    fresh.setattr(threads, "ELEMENTWISE_BLOCK", 7)  # many blocks, a ragged last one
    ref_cnn.set_num_threads(3)
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((5, 3, 4, 2)), rng.standard_normal((5, 3, 4, 2))
    x[0, 0, 0, 0], dy[1, 0, 0, 0] = np.nan, np.inf
    np.testing.assert_array_equal(F.relu(x), np.maximum(x, 0))
    np.testing.assert_array_equal(F.relu_backward(dy, x), np.where(x <= 0, 0, dy))  # NaN: dy


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_batch_norm_is_the_same_on_1_and_n_threads(dtype, fresh):
    from ref_cnn._fast import batchnorm_numpy
    from ref_cnn.functional import batchnorm as bn

    fresh.setattr(batchnorm_numpy, "BLOCK_BYTES", 1)  # one channel per task
    rng = np.random.default_rng(0)
    x, dy = (rng.standard_normal((4, 5, 6, 3)).astype(dtype) for _ in range(2))
    w, b = (rng.standard_normal(5).astype(dtype) for _ in range(2))
    results = {}
    for n in (1, 3):
        ref_cnn.set_num_threads(n)
        results[n] = (*bn.batch_norm_train(x, w, b), *bn.batch_norm_train_backward(dy, x, w))
    for one, many in zip(results[1], results[3], strict=True):
        np.testing.assert_array_equal(one, many)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_pooling_is_the_same_on_1_and_n_threads(dtype, fresh):
    from ref_cnn._fast import pool_numpy as _pool_kernels

    fresh.setattr(_pool_kernels, "TASK_BYTES", 1)  # one image per task
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 9, 8)).astype(dtype)
    kw = {"kernel_size": 3, "stride": 2, "padding": 1}
    results = {}
    for n in (1, 3):
        ref_cnn.set_num_threads(n)
        y, a = F.max_pool2d(x, **kw), F.avg_pool2d(x, **kw)
        dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        results[n] = (y, a, F.max_pool2d_backward(dy, x, **kw), F.avg_pool2d_backward(dy, x, **kw))
    for one, many in zip(results[1], results[3], strict=True):
        np.testing.assert_array_equal(one, many)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_pool(fresh):
    """The parent's workers don't exist in a forked child: its parallel regions must not
    wait on them forever."""
    import os

    ref_cnn.set_num_threads(3)
    threads.parallel_map(lambda i: i, [0, 1, 2], blas=False)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if a region completes
        ok = False
        try:
            ok = threads.parallel_map(lambda i: i * i, [1, 2, 3], blas=False) == [1, 4, 9]
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
