"""conv2d / conv2d_backward against torch, torch.nn.grad, finite differences and the loops.

[MB-3 … MB-7, MB-9, IC-4 … IC-7, IC-10, IC-11, AV-14]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import get_kernels, literal
from ref_cnn.conformance import CONV_CASES
from ref_cnn.functional import (
    conv2d,
    conv2d_backward,
    conv2d_backward_readable,
    conv2d_readable,
    conv2d_untied,
    conv2d_untied_backward,
)

torch = optional("torch")
tf = optional("torch.nn.functional")

eq = pytest.mark.equation


def _geometry_ids(c: dict) -> set[str]:
    """The IDs a conformance case's geometry puts to the test (every test below checks dw
    and dx; each test adds the IDs of the quantities it compares)."""
    ids = set()
    kw = c["kw"]
    if isinstance(kw.get("padding"), str) or c["w"][2:] == (1, 1):
        ids.add("MB-7")  # valid, same, 1×1
    elif kw.get("padding"):
        ids |= {"MB-3", "IC-11", "MB-6"}
    if kw.get("stride", 1) not in (1, (1, 1)):
        ids |= {"MB-4", "IC-10", "MB-6"}
    if c["w"][1] > 1:
        ids.add("MB-5")  # a sum over more than one channel per group
    if c["x"][0] > 1:
        ids.add("AV-14")  # dw summed over images: Σ_n X_n ⋆ δ_n
    return ids


def _cases(with_bias_gradient: bool):
    """The conformance cases, marked with their geometry's IDs, and IC-6 where the test
    compares db with a bias's gradient (a case without a bias has none)."""
    return [
        pytest.param(
            c["x"],
            c["w"],
            c["bias"],
            c["kw"],
            id=c["id"],
            marks=eq(
                *sorted(
                    _geometry_ids(c) | ({"IC-6"} if with_bias_gradient and c["bias"] else set())
                )
            ),
        )
        for c in CONV_CASES
    ]


CASES = _cases(with_bias_gradient=True)
GRADIENT_CASES = _cases(with_bias_gradient=False)  # for tests that do not compare db
# the same cases without equation markers, for tests of the machinery (`engineering`)
PLAIN_CASES = [pytest.param(*p.values, id=p.id) for p in CASES]


def _data(x_shape, w_shape, bias, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    return rng, x, w, b


def _torch_reference(x, w, b, kw, dy):
    xt, wt = t(x, True), t(w, True)
    bt = t(b, True) if b is not None else None
    y = tf.conv2d(xt, wt, bt, **kw)
    y.backward(t(dy))
    db = n(bt.grad) if bt is not None else n(t(dy).sum((0, 2, 3)))
    return n(y), n(xt.grad), n(wt.grad), db


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@pytest.mark.torch
@eq("IC-4", "IC-5", "IC-7")
def test_conv2d_matches_torch(x_shape, w_shape, bias, kw, dtype, parity):
    rng, x, w, b = _data(x_shape, w_shape, bias, dtype)
    y = conv2d(x, w, b, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)  # random upstream gradient, never ones
    y_ref, dx_ref, dw_ref, db_ref = _torch_reference(x, w, b, kw, dy)
    parity("y", y, y_ref)
    dx, dw, db = conv2d_backward(dy, x, w, **kw)
    parity("dx", dx, dx_ref)
    parity("dw", dw, dw_ref)
    parity("db", db, db_ref)


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), GRADIENT_CASES)
@pytest.mark.torch
@eq("IC-5", "IC-7")
def test_conv2d_backward_matches_torch_nn_grad(x_shape, w_shape, bias, kw, parity):
    """Second witness: torch.nn.grad.conv2d_input / conv2d_weight (no autograd)."""
    if isinstance(kw.get("padding"), str):
        pytest.skip("torch.nn.grad takes integer padding only")
    rng, x, w, _ = _data(x_shape, w_shape, False, seed=1)
    dy = rng.standard_normal(conv2d(x, w, **kw).shape)
    dx, dw, _ = conv2d_backward(dy, x, w, **kw)
    args = {k: kw[k] for k in ("stride", "padding", "dilation", "groups") if k in kw}
    ref_dx = torch.nn.grad.conv2d_input(x.shape, t(w), t(dy), **args)
    ref_dw = torch.nn.grad.conv2d_weight(t(x), w.shape, t(dy), **args)
    parity("dx", dx, n(ref_dx), witness="torch.nn.grad")
    parity("dw", dw, n(ref_dw), witness="torch.nn.grad")


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@eq("IC-4", "IC-5", "IC-6", "IC-7")
def test_conv2d_matches_literal_loops(x_shape, w_shape, bias, kw, parity):
    """The vectorised path equals the loop transcription of MB-5 / IC-4 … IC-7."""
    rng, x, w, b = _data(x_shape, w_shape, bias, seed=2)
    y = conv2d(x, w, b, **kw)
    parity("y", y, literal.conv2d(x, w, b, **kw), witness="literal loops")
    dy = rng.standard_normal(y.shape)
    for name, fast, slow in zip(
        ("dx", "dw", "db"),
        conv2d_backward(dy, x, w, **kw),
        literal.conv2d_backward(dy, x, w, **kw),
        strict=True,
    ):
        parity(name, fast, slow, witness="literal loops")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@pytest.mark.torch
@eq("IC-4", "IC-5", "IC-7")
def test_readable_conv2d_matches_torch(x_shape, w_shape, bias, kw, dtype, parity):
    """The readable version (a window view and one einsum per equation) is a witness of its
    own: equal to torch, forward and every gradient."""
    rng, x, w, b = _data(x_shape, w_shape, bias, dtype, seed=14)
    y = conv2d_readable(x, w, b, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    grads = conv2d_backward_readable(dy, x, w, **kw)
    for name, ours, ref in zip(
        ("y", "dx", "dw", "db"), (y, *grads), _torch_reference(x, w, b, kw, dy), strict=True
    ):
        parity(name, ours, ref)


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES)
@eq("IC-4", "IC-5", "IC-6", "IC-7")
def test_readable_conv2d_matches_literal_loops(x_shape, w_shape, bias, kw, parity):
    """The readable version equals the loop transcription of MB-5 / IC-4 … IC-7."""
    rng, x, w, b = _data(x_shape, w_shape, bias, seed=16)
    y = conv2d_readable(x, w, b, **kw)
    dy = rng.standard_normal(y.shape)
    ours = (y, *conv2d_backward_readable(dy, x, w, **kw))
    slow = (literal.conv2d(x, w, b, **kw), *literal.conv2d_backward(dy, x, w, **kw))
    for name, a, ref in zip(("y", "dx", "dw", "db"), ours, slow, strict=True):
        parity(name, a, ref, witness="literal loops")


@pytest.mark.engineering
@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), PLAIN_CASES)
def test_conv2d_kernels_match_the_readable_version(x_shape, w_shape, bias, kw, parity):
    """The tuned kernels (column matrices, chunks, flipped geometry) compute the readable
    version's sums, to rounding."""
    rng, x, w, b = _data(x_shape, w_shape, bias, seed=15)
    y = conv2d(x, w, b, **kw)
    dy = rng.standard_normal(y.shape)
    fast = (y, *conv2d_backward(dy, x, w, **kw))
    readable = (conv2d_readable(x, w, b, **kw), *conv2d_backward_readable(dy, x, w, **kw))
    for name, ours, ref in zip(("y", "dx", "dw", "db"), fast, readable, strict=True):
        parity(name, ours, ref, witness="readable version")


@pytest.mark.parametrize(("x_shape", "w_shape", "bias", "kw"), CASES[:8])
@eq("IC-5", "IC-7")
def test_conv2d_gradients_match_finite_differences(x_shape, w_shape, bias, kw, fd_check):
    rng, x, w, b = _data(x_shape, w_shape, bias, seed=3)
    dy = rng.standard_normal(conv2d(x, w, b, **kw).shape)
    dx, dw, db = conv2d_backward(dy, x, w, **kw)
    fd_check("dx", lambda v: conv2d(v, w, b, **kw), x, dy, dx)
    fd_check("dw", lambda v: conv2d(x, v, b, **kw), w, dy, dw)
    if b is not None:
        fd_check("db", lambda v: conv2d(x, w, v, **kw), b, dy, db)


@eq("IC-10")
def test_stride_leaves_uncovered_rows_with_zero_gradient():
    """s = 3, k = 2 over 9 rows: windows start at 0, 3, 6, so rows 2, 5, 8 get zero gradient."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 1, 9, 9)), rng.standard_normal((1, 1, 2, 2))
    dy = rng.standard_normal(conv2d(x, w, stride=3).shape)
    dx, _, _ = conv2d_backward(dy, x, w, stride=3)
    assert np.all(dx[:, :, [2, 5, 8], :] == 0) and np.all(dx[:, :, :, [2, 5, 8]] == 0)
    covered = [0, 1, 3, 4, 6, 7]
    assert np.all(dx[:, :, covered, :][:, :, :, covered] != 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("IC-4", "IC-6")
@pytest.mark.torch
def test_untied_bias_matches_torch(dtype, parity):
    """IC's layer: one bias per output position, B of shape (C_out, H_out, W_out)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 6, 5)).astype(dtype)
    w = rng.standard_normal((4, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal((4, 6, 6)).astype(dtype)  # H_out = 6 + 2 − 3 + 1, W_out = 5 + 2 − 2 + 1
    y = conv2d_untied(x, w, b, padding=1)
    dy = rng.standard_normal(y.shape).astype(dtype)
    xt, wt, bt = t(x, True), t(w, True), t(b, True)
    yt = tf.conv2d(xt, wt, padding=1) + bt
    yt.backward(t(dy))
    parity("y", y, n(yt))
    for name, ours, ref in zip(
        ("dx", "dw", "db"), conv2d_untied_backward(dy, x, w, padding=1), (xt, wt, bt), strict=True
    ):
        parity(name, ours, n(ref.grad))


@pytest.mark.torch
def test_untied_bias_takes_an_unbatched_sample(parity):
    """(C, H, W) in, (C_out, H_out, W_out) out, as conv2d and torch: the same numbers as the
    batch of one, and db is δ itself (no batch to sum over)."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 6, 5)), rng.standard_normal((4, 2, 3, 2))
    b = rng.standard_normal((4, 6, 6))
    y = conv2d_untied(x, w, b, padding=1)
    dy = rng.standard_normal(y.shape)
    xt, wt, bt = t(x, True), t(w, True), t(b, True)
    yt = tf.conv2d(xt, wt, padding=1) + bt
    yt.backward(t(dy))
    assert y.shape == (4, 6, 6)
    parity("y", y, n(yt))
    for name, ours, ref in zip(
        ("dx", "dw", "db"), conv2d_untied_backward(dy, x, w, padding=1), (xt, wt, bt), strict=True
    ):
        assert ours.shape == ref.shape
        parity(name, ours, n(ref.grad))


def test_untied_backward_without_dx_gives_the_same_parameter_gradients(parity):
    """need_dx=False (a first layer): dx is None, dw and db are those of the full backward."""
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((4, 2, 3, 2))
    dy = rng.standard_normal((2, 4, 6, 6))
    _, dw, db = conv2d_untied_backward(dy, x, w, padding=1)
    none, dw_only, db_only = conv2d_untied_backward(dy, x, w, padding=1, need_dx=False)
    assert none is None
    parity("dw", dw_only, dw, witness="full backward")
    parity("db", db_only, db, witness="full backward")


@eq("AV-14", "IC-5")
def test_filter_gradient_is_input_correlated_with_delta(parity):
    """AV-14 / IC-5 written out with scipy: ∂E/∂f = Σ_n X_n ⋆ δ_n (valid correlation)."""
    from scipy.signal import correlate2d

    rng = np.random.default_rng(6)
    x, f = rng.standard_normal((4, 1, 10, 10)), rng.standard_normal((3, 1, 5, 5))
    delta = rng.standard_normal(conv2d(x, f).shape)
    _, df, _ = conv2d_backward(delta, x, f)
    ref = np.stack(
        [sum(correlate2d(x[k, 0], delta[k, i], "valid") for k in range(4)) for i in range(3)]
    )
    parity("df", df, ref[:, None], witness="scipy.signal.correlate2d")


@eq("IC-7", "IC-11")
def test_input_gradient_is_full_convolution_cropped(parity):
    """IC-7 / IC-11 with scipy: ∂E/∂X_j = Σ_i δ_i *_full K_ij, cropped by P on each side."""
    from scipy.signal import convolve2d

    rng = np.random.default_rng(7)
    x, k = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    p = 1
    delta = rng.standard_normal(conv2d(x, k, padding=p).shape)
    dx, _, _ = conv2d_backward(delta, x, k, padding=p)
    full = np.stack(
        [sum(convolve2d(delta[0, i], k[i, j], "full") for i in range(3)) for j in range(2)]
    )
    parity("dx", dx[0], full[:, p:-p, p:-p], witness="scipy.signal.convolve2d")


@pytest.mark.parametrize("budget", [1, 3000], ids=["one-image-per-chunk", "a-few-images-per-chunk"])
@pytest.mark.engineering
def test_large_batches_are_processed_in_chunks(budget, monkeypatch, parity):
    """With a tiny column budget the batch is split into chunks; results are unchanged."""
    from ref_cnn._fast import conv_numpy as kernels
    from ref_cnn.functional.conv import conv_geometry

    rng, x, w, b = _data((7, 2, 9, 8), (3, 2, 3, 3), True, seed=8)
    kw = dict(stride=2, padding=1)
    dy = rng.standard_normal(conv2d(x, w, b, **kw).shape)
    whole_y, whole_grads = conv2d(x, w, b, **kw), conv2d_backward(dy, x, w, **kw)
    monkeypatch.setattr(kernels, "COLUMN_BUDGET_BYTES", budget)
    assert len(kernels.pieces(conv_geometry(x, w, b, **kw), x.itemsize)) > 1
    parity("y", conv2d(x, w, b, **kw), whole_y, witness="unchunked")
    for name, ours, ref in zip(
        ("dx", "dw", "db"), conv2d_backward(dy, x, w, **kw), whole_grads, strict=True
    ):
        parity(name, ours, ref, witness="unchunked")


@pytest.mark.parametrize(
    "second",
    [((4, 2, 9, 8), (2, 2, 3, 3), {"padding": 1}), ((5, 3, 7, 7), (4, 3, 2, 2), {"stride": 2})],
    ids=["same-shapes", "other-shapes"],
)
@pytest.mark.engineering
@pytest.mark.torch
def test_two_layers_interleaved_do_not_share_results(second, parity):
    """conv2d keeps its work buffers from call to call (`functional.scratch`); a layer's
    output and gradients must survive the next layer's calls: forward A, forward B,
    backward A, backward B, each compared with torch."""
    from ref_cnn._fast import scratch

    rng, xa, wa, ba = _data((4, 2, 9, 8), (2, 2, 3, 3), True, seed=11)
    _, xb, wb, bb = _data(second[0], second[1], True, seed=12)
    kwa, kwb = {"padding": 1}, second[2]
    ya = conv2d(xa, wa, ba, **kwa)
    yb = conv2d(xb, wb, bb, **kwb)
    dya, dyb = rng.standard_normal(ya.shape), rng.standard_normal(yb.shape)
    grads_a = conv2d_backward(dya, xa, wa, **kwa)
    grads_b = conv2d_backward(dyb, xb, wb, **kwb)
    held = scratch.held_buffers()
    for name, ours, (x, w, b, kw, dy) in (
        ("A", (ya, *grads_a), (xa, wa, ba, kwa, dya)),
        ("B", (yb, *grads_b), (xb, wb, bb, kwb, dyb)),
    ):
        assert not any(np.shares_memory(a, buf) for a in ours for buf in held)
        ref = _torch_reference(x, w, b, kw, dy)
        for label, a, r in zip(("y", "dx", "dw", "db"), ours, ref, strict=True):
            parity(f"{name} {label}", a, r, witness="torch")
    if get_kernels() == "numpy":  # (the compiled kernels keep no buffers between calls)
        assert scratch.held_bytes() > 0
    scratch.release()
    assert scratch.held_bytes() == 0
    parity("y after release", conv2d(xa, wa, ba, **kwa), ya, witness="before release")


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kw"),
    [
        ((2, 4, 9, 8), (4, 4, 3, 3), {"padding": 1}),
        ((2, 4, 9, 8), (2, 2, 3, 2), {"padding": (2, 1), "dilation": 2, "groups": 2}),
        ((3, 3, 8, 7), (3, 3, 4, 4), {"padding": "same"}),
        ((2, 3, 9, 8), (6, 3, 3, 3), {"padding": 1}),  # C_out = 2·C_in (FLIP_RATIO)
    ],
    ids=["pad-1", "groups-2-dilation-2", "same-even-kernel", "twice-the-outputs"],
)
@pytest.mark.engineering
@pytest.mark.torch
def test_gradients_from_delta_columns_equal_the_scatter(x_shape, w_shape, kw, parity, monkeypatch):
    """At stride 1 conv2d_backward takes dx and dw from δ's column matrix (dx: δ correlated
    with the flipped kernel); x's column matrix and the offset-by-offset scatter-add give
    the same sums. Both against torch."""
    from ref_cnn._fast import conv_numpy as kernels
    from ref_cnn.functional.conv import conv_geometry

    rng, x, w, _ = _data(x_shape, w_shape, False, seed=13)
    geometry = conv_geometry(x, w, None, **kw)
    assert kernels.flipped_geometry(geometry) is not None
    dy = rng.standard_normal(conv2d(x, w, **kw).shape)
    _, dx_ref, dw_ref, _ = _torch_reference(x, w, None, kw, dy)
    for path in ("delta's columns", "x's columns and scatter"):
        if path != "delta's columns":
            monkeypatch.setattr(kernels, "FLIP_RATIO", 0)  # every layer takes this path
            assert kernels.flipped_geometry(geometry) is None
        dx, dw, _ = conv2d_backward(dy, x, w, **kw)
        parity(f"dx ({path})", dx, dx_ref, witness="torch")
        parity(f"dw ({path})", dw, dw_ref, witness="torch")


@pytest.mark.engineering
def test_threads_keep_their_own_work_buffers(parity):
    """Two threads running different layers at once get the results of running alone."""
    from concurrent.futures import ThreadPoolExecutor

    layers = []
    for seed, (xs, ws, kw) in enumerate(
        [((6, 3, 12, 11), (5, 3, 3, 3), {"padding": 1}), ((4, 2, 9, 9), (2, 2, 5, 5), {})]
    ):
        rng, x, w, b = _data(xs, ws, True, seed=30 + seed)
        dy = rng.standard_normal(conv2d(x, w, b, **kw).shape)
        layers.append((x, w, b, kw, dy))

    def run(layer):
        x, w, b, kw, dy = layer
        return [(conv2d(x, w, b, **kw), *conv2d_backward(dy, x, w, **kw)) for _ in range(30)]

    alone = [run(layer)[0] for layer in layers]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(run, layers))
    for name, ref, results in zip(("A", "B"), alone, together, strict=True):
        for result in results:
            for label, ours, expected in zip(("y", "dx", "dw", "db"), result, ref, strict=True):
                parity(f"{name} {label}", ours, expected, witness="same layer alone")
