"""Training-mode batch norm: every registered implementation (`ref_cnn._fast.backend`)
against the readable body of `ref_cnn.functional.batchnorm` (torch parity is in
test_opinfo.py and test_passes_numba.py)."""

from __future__ import annotations

import numpy as np
import pytest
from alternatives import assert_close, readable_and_alternative, rows

from ref_cnn.conformance.cases import BATCH_NORM_CASES
from ref_cnn.functional import batchnorm

# float64 bounds, relative to the largest value. "numpy": γ/√(σ² + ε) folded into one factor
# and dx taken from Σdy and Σdy·x̂: a few roundings per element, and dγ = Σdy·x̂ cancels (a
# random dy makes it ~√M terms' size, M = N·H·W). "numba": sums accumulated one by one in
# float64, NumPy's pairwise: their rounding grows with M.
RTOL = {"numpy": 5e-15, "numba": 1e-14}
RTOL32 = 2e-6  # float32: the readable body's own pairwise float32 sums, ~M·ε₃₂ at worst

SHAPES = [pytest.param(c["x"], c["kw"].get("eps", 1e-5), id=c["id"]) for c in BATCH_NORM_CASES]
SHAPES += [pytest.param((8, 16, 14, 14), 1e-5, id="resnet-like")]


@pytest.mark.engineering
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("op", "name"), rows("batch_norm_train", "batch_norm_train_backward"))
@pytest.mark.parametrize(("shape", "eps"), SHAPES)
def test_batch_norm_alternatives_match_the_readable_body(
    shape, eps, op, name, dtype, affine, monkeypatch
):
    """y, μ, σ² and dx, dγ, dβ (random dy) of every registered implementation against the
    readable equations, for x with a mean and scale far from 0 and 1."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    w, b = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
    w, b = (w, b) if affine else (None, None)
    if op == "batch_norm_train":
        quantities = ("y", "mean", "var")
        call = lambda: batchnorm.batch_norm_train(x, w, b, eps)  # noqa: E731
    else:
        quantities = ("dx", "dweight", "dbias")
        call = lambda: batchnorm.batch_norm_train_backward(dy, x, w, eps)  # noqa: E731
    readable, fast = readable_and_alternative(monkeypatch, op, name, call)
    rtol = RTOL[name] if dtype == np.float64 else RTOL32
    for quantity, ours, ref in zip(quantities, fast, readable, strict=True):
        if ref is None:  # dγ, dβ without γ
            assert ours is None, quantity
            continue
        assert_close(quantity, ours, ref, rtol)
