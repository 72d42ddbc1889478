"""conv2d / conv2d_backward: every implementation against every witness, then the machinery.

The two tables (`test_conv2d_forward`, `test_conv2d_backward`) run each implementation
(tuned NumPy, compiled, readable, literal loops) against each witness that applies (torch
autograd, torch.nn.grad, finite differences, scipy.signal, the literal loops, the readable
version) over the conformance kit's cases, with a random upstream gradient.

[MB-3 … MB-7, MB-9, IC-4 … IC-7, IC-10, IC-11, AV-14]
"""

from __future__ import annotations

import numpy as np
import pytest
from alternatives import under
from helpers import n, optional, t

from ref_cnn import get_kernels, literal
from ref_cnn._fast.tuning import tuned
from ref_cnn.conformance import CONV_CASES
from ref_cnn.conformance.ops import OPS
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
    """The IDs a conformance case's geometry puts to the test."""
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
    return ids


def _data(x_shape, w_shape, bias, dtype=np.float64, seed=0):
    """Seeded x, w and b for the named tests below (and test_conv_numba.py)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    return rng, x, w, b


def _torch_reference(x, w, b, kw, dy):
    """torch's y, dx, dw and db (autograd; Σ dy over N, H, W where there is no bias)."""
    xt, wt = t(x, True), t(w, True)
    bt = t(b, True) if b is not None else None
    y = tf.conv2d(xt, wt, bt, **kw)
    y.backward(t(dy))
    db = n(bt.grad) if bt is not None else n(t(dy).sum((0, 2, 3)))
    return n(y), n(xt.grad), n(wt.grad), db


# ------------------------------------------------------------------ the implementations


# name -> (forward, backward, marks)
IMPLEMENTATIONS = {
    "numpy": (under("numpy", conv2d), under("numpy", conv2d_backward), ()),
    "numba": (under("numba", conv2d), under("numba", conv2d_backward), (pytest.mark.numba,)),
    "readable": (conv2d_readable, conv2d_backward_readable, ()),
    "literal": (literal.conv2d, literal.conv2d_backward, ()),
}
FAST = ("numpy", "numba")  # the implementations that are not the readable body
EXCEPT_LITERAL = ("numpy", "numba", "readable")


# ------------------------------------------------------------------------- the witnesses


def _torch_forward(x, w, b, kw):
    return {"y": n(tf.conv2d(t(x), t(w), None if b is None else t(b), **kw))}


def _torch_backward(x, w, b, kw, dy):
    _, dx, dw, db = _torch_reference(x, w, b, kw, dy)
    return {"dx": dx, "dw": dw, "db": db}


def _nn_grad_backward(x, w, b, kw, dy):
    args = {k: kw[k] for k in ("stride", "padding", "dilation", "groups") if k in kw}
    dx = torch.nn.grad.conv2d_input(x.shape, t(w), t(dy), **args)
    dw = torch.nn.grad.conv2d_weight(t(x), w.shape, t(dy), **args)
    return {"dx": n(dx), "dw": n(dw)}


def _literal_forward(x, w, b, kw):
    return {"y": literal.conv2d(x, w, b, **kw)}


def _literal_backward(x, w, b, kw, dy):
    return dict(zip(("dx", "dw", "db"), literal.conv2d_backward(dy, x, w, **kw), strict=True))


def _readable_forward(x, w, b, kw):
    return {"y": conv2d_readable(x, w, b, **kw)}


def _readable_backward(x, w, b, kw, dy):
    return dict(zip(("dx", "dw", "db"), conv2d_backward_readable(dy, x, w, **kw), strict=True))


def _padding(kw) -> tuple[int, int]:
    p = kw.get("padding", 0)
    p = 0 if p == "valid" else p
    return (p, p) if isinstance(p, int) else tuple(p)


def _scipy_forward(x, w, b, kw):
    """IC-4 with scipy: Y_i = B_i + Σ_j X_j ⋆ K_ij (valid correlation of the padded input)."""
    from scipy.signal import correlate2d

    (ph, pw), (c_out, c_in) = _padding(kw), w.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = [
        [sum(correlate2d(xp[m, j], w[i, j], "valid") for j in range(c_in)) for i in range(c_out)]
        for m in range(len(x))
    ]
    y = np.array(y)
    return {"y": y if b is None else y + b[:, None, None]}


def _scipy_backward(x, w, b, kw, dy):
    """IC-5 / AV-14: ∂E/∂K_ij = Σ_n X_nj ⋆ δ_ni (valid); IC-7 / IC-11: ∂E/∂X_j = Σ_i δ_i *_full
    K_ij, cropped by P on each side."""
    from scipy.signal import convolve2d, correlate2d

    (ph, pw), (c_out, c_in), (h, wd) = _padding(kw), w.shape[:2], x.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    images = range(len(x))
    dw = [
        [sum(correlate2d(xp[m, j], dy[m, i], "valid") for m in images) for j in range(c_in)]
        for i in range(c_out)
    ]
    full = [
        [sum(convolve2d(dy[m, i], w[i, j], "full") for i in range(c_out)) for j in range(c_in)]
        for m in images
    ]
    return {"dx": np.array(full)[:, :, ph : ph + h, pw : pw + wd], "dw": np.array(dw)}


def _scipy_applies(c: dict) -> bool:
    """scipy.signal's 2-D correlation: stride 1, no dilation, one group, explicit padding."""
    kw = c["kw"]
    plain = all(kw.get(k, 1) in (1, (1, 1)) for k in ("stride", "dilation", "groups"))
    return plain and kw.get("padding") != "same"


def _nn_grad_applies(c: dict) -> bool:
    return not isinstance(c["kw"].get("padding"), str)  # torch.nn.grad takes integers only


def _first_eight(c: dict) -> bool:
    return CONV_CASES.index(c) < 8  # finite differences: 2·12 evaluations per quantity


# witness -> (name in the record, forward or None, backward or None, marks, applies)
WITNESSES = {
    "torch": ("torch", _torch_forward, _torch_backward, (pytest.mark.torch,), None),
    "torch-nn-grad": (
        "torch.nn.grad",
        None,
        _nn_grad_backward,
        (pytest.mark.torch,),
        _nn_grad_applies,
    ),
    "finite-differences": ("finite differences", None, "fd", (), _first_eight),
    "scipy": ("scipy.signal", _scipy_forward, _scipy_backward, (), _scipy_applies),
    "literal": ("literal loops", _literal_forward, _literal_backward, (), None),
    "readable": ("readable version", _readable_forward, _readable_backward, (), None),
}
# witness -> the implementations it checks (f32: also in float32, against torch's float32)
PAIRS = {
    "torch": ("numpy", "numba", "readable", "literal"),
    "torch-nn-grad": EXCEPT_LITERAL,
    "finite-differences": EXCEPT_LITERAL,
    "scipy": ("numpy", "readable"),
    "literal": EXCEPT_LITERAL,
    "readable": FAST,  # the tuned kernels compute the readable sums: machinery, no equation
}


def _table(backward: bool):
    """pytest.param(implementation, witness, case, dtype) for every pair that applies, with
    readable ids (`numpy-vs-torch-MB-4-s2`, `-f32` for float32) and the case's equation IDs."""
    rows = []
    for witness, impls in PAIRS.items():
        _, fwd, bwd, witness_marks, applies = WITNESSES[witness]
        if (bwd if backward else fwd) is None:
            continue
        for impl in impls:
            dtypes = (np.float64, np.float32) if witness == "torch" and impl != "literal" else ()
            for c in CONV_CASES:
                if applies is not None and not applies(c):
                    continue
                if witness == "readable":
                    marks = [pytest.mark.engineering]
                else:
                    ids = _geometry_ids(c) | ({"IC-5", "IC-7"} if backward else {"IC-4"})
                    if backward and c["x"][0] > 1:
                        ids.add("AV-14")  # dw summed over images: Σ_n X_n ⋆ δ_n
                    if backward and c["bias"] and witness not in ("torch-nn-grad", "scipy"):
                        ids.add("IC-6")  # db compared with a bias's gradient
                    marks = [eq(*sorted(ids))]
                marks += [*witness_marks, *IMPLEMENTATIONS[impl][2]]
                for dtype in dtypes or (np.float64,):
                    suffix = "-f32" if dtype == np.float32 else ""
                    rows.append(
                        pytest.param(
                            impl,
                            witness,
                            c,
                            dtype,
                            id=f"{impl}-vs-{witness}-{c['id']}{suffix}",
                            marks=marks,
                        )
                    )
    return rows


def _case_arrays(c: dict, dtype, seed=0):
    """x, w, b as the kit draws them for the case (ref_cnn.conformance.ops), in `dtype`."""
    rng = np.random.default_rng(seed)
    a = OPS["conv2d"].inputs(c, rng)
    x, w, b = (None if a[k] is None else a[k].astype(dtype) for k in ("x", "w", "b"))
    return rng, x, w, b


@pytest.mark.parametrize(("impl", "witness", "case", "dtype"), _table(backward=False))
def test_conv2d_forward(impl, witness, case, dtype, parity):
    _, x, w, b = _case_arrays(case, dtype)
    forward = IMPLEMENTATIONS[impl][0]
    name, reference = WITNESSES[witness][:2]
    parity("y", forward(x, w, b, **case["kw"]), reference(x, w, b, case["kw"])["y"], witness=name)


@pytest.mark.parametrize(("impl", "witness", "case", "dtype"), _table(backward=True))
def test_conv2d_backward(impl, witness, case, dtype, parity, fd_check):
    rng, x, w, b = _case_arrays(case, dtype, seed=1)
    kw = case["kw"]
    forward, backward, _ = IMPLEMENTATIONS[impl]
    dy = rng.standard_normal(conv2d_readable(x, w, b, **kw).shape).astype(dtype)  # never ones
    grads = dict(zip(("dx", "dw", "db"), backward(dy, x, w, **kw), strict=True))
    name, _, reference, _, _ = WITNESSES[witness]
    if reference == "fd":
        fd_check("dx", lambda v: forward(v, w, b, **kw), x, dy, grads["dx"])
        fd_check("dw", lambda v: forward(x, v, b, **kw), w, dy, grads["dw"])
        if b is not None:
            fd_check("db", lambda v: forward(x, w, v, **kw), b, dy, grads["db"])
        return
    for quantity, expected in reference(x, w, b, kw, dy).items():
        parity(quantity, grads[quantity], expected, witness=name)


# ------------------------------------------------------- named cases and the machinery


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


@pytest.mark.parametrize("budget", [1, 3000], ids=["one-image-per-chunk", "a-few-images-per-chunk"])
@pytest.mark.engineering
def test_large_batches_are_processed_in_chunks(budget, parity):
    """With a tiny column budget the batch is split into chunks; results are unchanged."""
    from ref_cnn._fast import conv_numpy as kernels
    from ref_cnn.functional.conv import conv_geometry

    rng, x, w, b = _data((7, 2, 9, 8), (3, 2, 3, 3), True, seed=8)
    kw = dict(stride=2, padding=1)
    dy = rng.standard_normal(conv2d(x, w, b, **kw).shape)
    whole_y, whole_grads = conv2d(x, w, b, **kw), conv2d_backward(dy, x, w, **kw)
    with tuned(conv_column_budget_bytes=budget):
        assert len(kernels.pieces(conv_geometry(x, w, b, **kw), x.itemsize)) > 1
        parity("y", conv2d(x, w, b, **kw), whole_y, witness="unchunked")
        grads = conv2d_backward(dy, x, w, **kw)
    for name, ours, ref in zip(("dx", "dw", "db"), grads, whole_grads, strict=True):
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
def test_gradients_from_delta_columns_equal_the_scatter(x_shape, w_shape, kw, parity):
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
    for path, knobs in (
        ("delta's columns", {}),
        ("x's columns and scatter", {"conv_flip_ratio": 0}),
    ):
        with tuned(**knobs):  # a flip ratio of 0: every layer takes x's columns
            assert (kernels.flipped_geometry(geometry) is None) == bool(knobs)
            dx, dw, _ = conv2d_backward(dy, x, w, **kw)
        parity(f"dx ({path})", dx, dx_ref, witness="torch")
        parity(f"dw ({path})", dw, dw_ref, witness="torch")


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kw"),
    [
        ((3, 16, 9, 8), (16, 16, 3, 3), {"padding": 1}),
        ((2, 20, 11, 10), (6, 20, 3, 2), {"padding": (2, 1), "stride": (2, 1), "dilation": (1, 2)}),
        ((2, 16, 7, 7), (16, 16, 1, 1), {}),
        ((1, 24, 30, 6), (20, 24, 4, 3), {"padding": "same"}),
        ((2, 32, 6, 6), (64, 32, 3, 3), {"padding": 1}),
    ],
    ids=["pad-1", "stride-2-dilation-2-uneven-padding", "1x1", "same-even-kernel-tall", "64-out"],
)
@pytest.mark.engineering
@pytest.mark.torch
def test_channel_last_columns_equal_the_nchw_columns(x_shape, w_shape, kw, parity):
    """Layers with many input channels, few output channels and narrow outputs build their
    column matrix channel-last (a row per output position, `_columns_last`), forward and, at
    stride 1, for δ's columns in the backward pass; the NCHW column matrix gives the same
    sums. Both against torch, with the suite's pieces of a few rows (the tall case: bands)."""
    from ref_cnn._fast import conv_numpy as kernels
    from ref_cnn.functional.conv import conv_geometry

    rng, x, w, b = _data(x_shape, w_shape, True, seed=17)
    geometry = conv_geometry(x, w, b, **kw)
    flipped = kernels.flipped_geometry(geometry)
    dy = rng.standard_normal(conv2d(x, w, b, **kw).shape)
    y_ref, dx_ref, dw_ref, db_ref = _torch_reference(x, w, b, kw, dy)
    for path, knobs in (("channel-last", {}), ("NCHW", {"conv_channels_last_min": 10**9})):
        with tuned(**knobs):  # a minimum no layer reaches: every layer takes NCHW columns
            assert kernels._channels_last(geometry) is not bool(knobs)
            if flipped is not None:
                assert kernels._channels_last(flipped) is not bool(knobs)
            y = conv2d(x, w, b, **kw)
            dx, dw, db = conv2d_backward(dy, x, w, **kw)
        for quantity, ours, ref in (("y", y, y_ref), ("dx", dx, dx_ref), ("dw", dw, dw_ref)):
            parity(f"{quantity} ({path})", ours, ref, witness="torch")
        parity(f"db ({path})", db, db_ref, witness="torch")


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
