"""Max and average pooling: every implementation against every witness, then named cases.

The two tables (`test_pool2d_forward`, `test_pool2d_backward`) run each implementation
(tuned NumPy, compiled, readable, literal loops) against each witness that applies (torch
autograd, finite differences, scipy.ndimage, the literal loops, the readable version) over
the conformance kit's cases (ties and all-negative inputs included), with a random upstream
gradient.

[MB-8, IC-8, IC-9, IC-10]
"""

from __future__ import annotations

import numpy as np
import pytest
from alternatives import under
from helpers import n, optional, t

from ref_cnn import literal
from ref_cnn.conformance import AVG_POOL_CASES, MAX_POOL_CASES
from ref_cnn.conformance.ops import OPS
from ref_cnn.functional import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_backward_readable,
    avg_pool2d_readable,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_backward_readable,
    max_pool2d_readable,
)

tf = optional("torch.nn.functional")

eq = pytest.mark.equation

CASES = {"max": MAX_POOL_CASES, "avg": AVG_POOL_CASES}
EQUATION = {"max": "IC-8", "avg": "IC-9"}


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _strided(kw: dict) -> bool:
    """Whether a case moves its window more than one pixel at a time (IC-10)."""
    stride = kw.get("stride") or kw["kernel_size"]  # None → the kernel size, as torch
    return max(_pair(stride)) > 1


# ------------------------------------------------------------------ the implementations


# (op, name) -> (forward, backward); marks by name
IMPLEMENTATIONS = {
    **{
        (op, name): (under(name, fwd), under(name, bwd))
        for op, fwd, bwd in (
            ("max", max_pool2d, max_pool2d_backward),
            ("avg", avg_pool2d, avg_pool2d_backward),
        )
        for name in ("numpy", "numba")
    },
    ("max", "readable"): (max_pool2d_readable, max_pool2d_backward_readable),
    ("avg", "readable"): (avg_pool2d_readable, avg_pool2d_backward_readable),
    ("max", "literal"): (literal.max_pool2d, literal.max_pool2d_backward),
    ("avg", "literal"): (literal.avg_pool2d, literal.avg_pool2d_backward),
}
IMPLEMENTATION_MARKS = {"numba": (pytest.mark.numba,)}
EXCEPT_LITERAL = ("numpy", "numba", "readable")


# ------------------------------------------------------------------------- the witnesses


def _torch_forward(op, x, kw):
    return n(getattr(tf, f"{op}_pool2d")(t(x), **kw))


def _torch_backward(op, x, kw, dy):
    xt = t(x, True)
    getattr(tf, f"{op}_pool2d")(xt, **kw).backward(t(dy))
    return n(xt.grad)


def _scipy_forward(op, x, kw):
    """The window maximum / mean with scipy.ndimage's filters (centred windows: the one that
    starts at row r is centred on r + ⌊k/2⌋), taken every s rows."""
    from scipy.ndimage import maximum_filter, uniform_filter

    (kh, kw_), (sh, sw) = _pair(kw["kernel_size"]), _pair(kw.get("stride") or kw["kernel_size"])
    filtered = (maximum_filter if op == "max" else uniform_filter)(x, size=(1, 1, kh, kw_))
    rows = range(kh // 2, kh // 2 + (x.shape[2] - kh) // sh * sh + 1, sh)
    cols = range(kw_ // 2, kw_ // 2 + (x.shape[3] - kw_) // sw * sw + 1, sw)
    return filtered[:, :, rows][:, :, :, cols]


def _scipy_applies(op: str, c: dict) -> bool:
    """Windows that stay inside the input: no padding, no dilation, no partial ceil window."""
    kw = c["kw"]
    return not (kw.get("padding") or kw.get("dilation") or kw.get("ceil_mode"))


def _first_four(op: str, c: dict) -> bool:
    """Finite differences where the gradient exists (no ties), on the first four cases."""
    smooth = [d for d in CASES[op] if not d.get("ties")]
    return c in smooth[:4]


# witness -> (name in the record, forward or None, backward or None, marks, applies)
WITNESSES = {
    "torch": ("torch", _torch_forward, _torch_backward, (pytest.mark.torch,), None),
    "finite-differences": ("finite differences", None, "fd", (), _first_four),
    "scipy": ("scipy.ndimage", _scipy_forward, None, (), _scipy_applies),
    "literal": (
        "literal loops",
        lambda op, x, kw: IMPLEMENTATIONS[op, "literal"][0](x, **kw),
        lambda op, x, kw, dy: IMPLEMENTATIONS[op, "literal"][1](dy, x, **kw),
        (),
        None,
    ),
    "readable": (
        "readable version",
        lambda op, x, kw: IMPLEMENTATIONS[op, "readable"][0](x, **kw),
        lambda op, x, kw, dy: IMPLEMENTATIONS[op, "readable"][1](dy, x, **kw),
        (),
        None,
    ),
}
# witness -> the implementations it checks (torch: float32 too, but for the literal loops)
PAIRS = {
    "torch": ("numpy", "numba", "readable", "literal"),
    "finite-differences": EXCEPT_LITERAL,
    "scipy": ("numpy", "readable"),
    "literal": EXCEPT_LITERAL,
    "readable": ("numpy", "numba"),  # the tuned kernels give the readable results: machinery
}


def _table(backward: bool):
    """pytest.param(op, implementation, witness, case, dtype) for every pair that applies,
    with readable ids (`max-numpy-vs-torch-IC-8-k2-default-stride`, `-f32` for float32)."""
    rows = []
    for witness, impls in PAIRS.items():
        _, fwd, bwd, witness_marks, applies = WITNESSES[witness]
        if (bwd if backward else fwd) is None:
            continue
        for op, impl in ((op, impl) for op in CASES for impl in impls):
            dtypes = (np.float64, np.float32) if witness == "torch" and impl != "literal" else ()
            for c in CASES[op]:
                if applies is not None and not applies(op, c):
                    continue
                if witness == "readable":
                    marks = [pytest.mark.engineering]
                else:
                    ids = ("MB-8", EQUATION[op], *(["IC-10"] if _strided(c["kw"]) else []))
                    marks = [eq(*ids)]
                marks += [*witness_marks, *IMPLEMENTATION_MARKS.get(impl, ())]
                for dtype in dtypes or (np.float64,):
                    suffix = "-f32" if dtype == np.float32 else ""
                    rows.append(
                        pytest.param(
                            op,
                            impl,
                            witness,
                            c,
                            dtype,
                            id=f"{op}-{impl}-vs-{witness}-{c['id']}{suffix}",
                            marks=marks,
                        )
                    )
    return rows


def _case_input(op: str, c: dict, dtype, seed=0):
    """x as the kit draws it for the case (ties: small integers; `negative`: below 0)."""
    rng = np.random.default_rng(seed)
    return rng, OPS[f"{op}_pool2d"].inputs(c, rng)["x"].astype(dtype)


TABLE = ("op", "impl", "witness", "case", "dtype")


@pytest.mark.parametrize(TABLE, _table(backward=False))
def test_pool2d_forward(op, impl, witness, case, dtype, parity):
    _, x = _case_input(op, case, dtype)
    forward = IMPLEMENTATIONS[op, impl][0]
    name, reference = WITNESSES[witness][:2]
    parity("y", forward(x, **case["kw"]), reference(op, x, case["kw"]), witness=name)


@pytest.mark.parametrize(TABLE, _table(backward=True))
def test_pool2d_backward(op, impl, witness, case, dtype, parity, fd_check):
    rng, x = _case_input(op, case, dtype, seed=1)
    kw = case["kw"]
    forward, backward = IMPLEMENTATIONS[op, impl]
    dy = rng.standard_normal(forward(x, **kw).shape).astype(dtype)  # random, never ones
    dx = backward(dy, x, **kw)
    name, _, reference, _, _ = WITNESSES[witness]
    if reference == "fd":  # distinct values: max is differentiable almost surely
        fd_check("dx", lambda v: forward(v, **kw), x, dy, dx)
    else:
        parity("dx", dx, reference(op, x, kw, dy), witness=name)


# ------------------------------------------------------------------------ named cases


def _torch_pool(fn, x, dy, kw):
    xt = t(x, True)
    y = fn(xt, **kw)
    y.backward(t(dy))
    return n(y), n(xt.grad)


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param(dict(kernel_size=2), id="ties-k2"),
        pytest.param(dict(kernel_size=3, stride=1, padding=1), id="plateau-overlapping-p1"),
        pytest.param(dict(kernel_size=2, stride=1, dilation=2), id="ties-dilated"),
    ],
)
@eq("IC-8")
@pytest.mark.torch
def test_max_pool_ties_follow_torch_first_maximum(kw, parity):
    """Ties and plateaus: torch gives the whole gradient to the first maximum (row-major)."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 3, size=(2, 2, 6, 6)).astype(np.float64)  # many ties
    x[0, 0] = 1.0  # a flat plateau
    y = max_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape)
    y_ref, dx_ref = _torch_pool(tf.max_pool2d, x, dy, kw)
    parity("y", y, y_ref)
    parity("dx", max_pool2d_backward(dy, x, **kw), dx_ref)
    parity(
        "dx",
        max_pool2d_backward(dy, x, **kw),
        literal.max_pool2d_backward(dy, x, **kw),
        witness="literal loops",
    )


@eq("IC-8")
@pytest.mark.torch
def test_max_pool_padding_is_minus_infinity_not_zero():
    """All-negative input with padding: a zero pad would win every border window."""
    x = -1.0 - np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    y = max_pool2d(x, 2, stride=2, padding=1)
    assert np.all(y < 0)
    np.testing.assert_array_equal(y, n(tf.max_pool2d(t(x), 2, stride=2, padding=1)))


@eq("IC-8")
@pytest.mark.torch
@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 2, "dilation": 2, "padding": 1},
    ],
    ids=["k3-s2-p1", "k2-d2-p1"],
)
def test_max_pool_windows_of_minus_infinity_as_torch(kw, parity):
    """A window whose real values are all −∞ ties with its −∞ padding: torch's maximum is its
    first real position, so dy goes there and the index points there (not into padding)."""
    x = np.full((1, 2, 5, 5), -np.inf)
    x[0, 0, 3:, 3:] = 1.0
    x[0, 1, 2, 2] = np.nan
    xt = t(x, True)
    yt, it = tf.max_pool2d(xt, **kw, return_indices=True)
    dy = np.random.default_rng(6).standard_normal(yt.shape)
    yt.backward(t(dy))
    y, idx = max_pool2d(x, **kw, return_indices=True)
    np.testing.assert_array_equal(y, n(yt))
    np.testing.assert_array_equal(idx, n(it))
    parity("dx", max_pool2d_backward(dy, x, **kw), n(xt.grad))  # (overlaps add in any order)


@eq("IC-8")
@pytest.mark.torch
def test_max_pool_nan_propagates_like_torch():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 1, 2] = np.nan
    y = max_pool2d(x, 2)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(n(tf.max_pool2d(t(x), 2))))
