"""The random ops (dropout, dropout2d, stochastic_depth) against torch / torchvision
[SPA-1 … SPA-3], and the float32 rule.

Each is compared with a torch run under the same keep-mask: torch draws it, and the test
reads it back from torch's output (kept where y ≠ 0; every input here is non-zero, so nothing
is ambiguous), then hands it to ref_cnn through `mask=`. Gradients use a random upstream
gradient.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import n, nonzero_normal, optional, t

from ref_cnn import functional as F

torch = optional("torch")
torchvision = optional("torchvision")

eq = pytest.mark.equation


def _mask_from(y, x, keep_shape):
    """The keep-mask torch drew, read back from its output: y ≠ 0 where x ≠ 0, reduced to the
    noise's shape (every element of one draw agrees)."""
    assert np.all(x != 0), "the mask is readable only where x ≠ 0"
    kept = y != 0
    axes = tuple(a for a, s in enumerate(keep_shape) if s == 1 and kept.shape[a] != 1)
    mask = kept.all(axis=axes, keepdims=True) if axes else kept
    assert np.array_equal(np.broadcast_to(mask, kept.shape), kept), "a draw is not uniform"
    return mask.reshape(keep_shape)


def _random_op(name):
    """(ours, ours_backward, torch forward, keep-shape of x) for one random op."""
    import torch.nn.functional as tF  # noqa: N812 (torch's own alias)

    if name == "dropout":
        return F.dropout, F.dropout_backward, tF.dropout, lambda x: x.shape
    if name == "dropout2d":
        return F.dropout2d, F.dropout2d_backward, tF.dropout2d, lambda x: x.shape[:2] + (1, 1)
    from torchvision.ops import stochastic_depth as sd

    mode = name.split("-")[1]

    def fwd(x, p, training=True, **kw):
        return F.stochastic_depth(x, p, mode, training, **kw)

    def bwd(dy, x, p, training=True, **kw):
        return F.stochastic_depth_backward(dy, x, p, mode, training, **kw)

    def torch_fwd(x, p, training=True):
        return sd(x, p, mode, training)

    shape = (lambda x: (x.shape[0], 1, 1, 1)) if mode == "row" else (lambda x: (1, 1, 1, 1))
    return fwd, bwd, torch_fwd, shape


RANDOM = [
    pytest.param("dropout", id="SPA-1-dropout", marks=[eq("SPA-1"), pytest.mark.torch]),
    pytest.param("dropout2d", id="SPA-2-dropout2d", marks=[eq("SPA-2"), pytest.mark.torch]),
    pytest.param(
        "sd-row", id="SPA-3-stochastic_depth-row", marks=[eq("SPA-3"), pytest.mark.torchvision]
    ),
    pytest.param(
        "sd-batch", id="SPA-3-stochastic_depth-batch", marks=[eq("SPA-3"), pytest.mark.torchvision]
    ),
]


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9, 1.0], ids=lambda p: f"p{p}")
@pytest.mark.parametrize("name", RANDOM)
def test_random_op_matches_torch_under_its_mask(name, p, parity):
    """Forward (bitwise: both multiply x by m/(1 − p) in x's dtype) and backward, float64."""
    fwd, bwd, torch_fwd, keep_shape = _random_op(name)
    rng = np.random.default_rng(3)
    x = nonzero_normal(rng, (6, 4, 3, 5))
    dy = rng.standard_normal(x.shape)
    torch.manual_seed(11)
    xt = t(x, True)
    yt = torch_fwd(xt, p, training=True)
    yt.backward(t(dy))
    mask = _mask_from(n(yt), x, keep_shape(x))
    y = fwd(x, p, True, mask=mask)
    dx = bwd(dy, x, p, True, mask=mask)
    np.testing.assert_array_equal(y, n(yt))
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))
    if 0 < p < 1:  # the compact mask: (N, C) for dropout2d, (N,) for row, () for batch
        compact = {"dropout2d": mask[:, :, 0, 0], "sd-row": mask[:, 0, 0, 0]}.get(name, mask)
        compact = mask.reshape(()) if name == "sd-batch" else compact
        np.testing.assert_array_equal(fwd(x, p, True, mask=compact.astype(np.float64)), y)


@pytest.mark.parametrize("name", RANDOM)
def test_random_op_is_the_identity_outside_training(name):
    fwd, bwd, _, _ = _random_op(name)
    x = nonzero_normal(np.random.default_rng(0), (2, 3, 2, 2))
    assert fwd(x, 0.5, False) is x
    assert fwd(x, 0.0, True) is x
    np.testing.assert_array_equal(bwd(x, x, 0.5, False), x)


@eq("SPA-1", "SPA-2", "SPA-3")
def test_p_one_drops_everything_and_nan_stays_nan():
    """p = 1: x·0, so NaN and ±∞ give NaN (torch multiplies by 0); no mask is needed."""
    x = np.array([[[[1.0, np.nan], [np.inf, -2.0]]]])
    for y in (F.dropout(x, 1.0), F.dropout2d(x, 1.0), F.stochastic_depth(x, 1.0, "row")):
        np.testing.assert_array_equal(y, [[[[0.0, np.nan], [np.nan, -0.0]]]])
    np.testing.assert_array_equal(
        F.dropout_backward(x, x, 1.0), [[[[0.0, np.nan], [np.nan, -0.0]]]]
    )


def test_masks_drawn_from_a_seeded_generator_repeat():
    x = np.ones((64, 32, 4, 4))
    a = F.dropout(x, 0.3, generator=np.random.default_rng(5))
    b = F.dropout(x, 0.3, mask=F.dropout_mask(x, 0.3, np.random.default_rng(5)))
    np.testing.assert_array_equal(a, b)
    F.manual_seed(7)
    c = F.dropout2d(x, 0.3)
    F.manual_seed(7)
    np.testing.assert_array_equal(F.dropout2d(x, 0.3), c)
    assert abs(np.mean(a == 0) - 0.3) < 0.01  # 32,768 draws: a 6-sigma band
    m = F.stochastic_depth_mask(x, 0.25, "row", np.random.default_rng(1))
    assert m.shape == (64, 1, 1, 1) and m.dtype == np.bool_


def test_backward_needs_the_forward_mask():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="pass mask="):
        F.dropout_backward(x, x, 0.5)
    with pytest.raises(ValueError, match="pass mask="):
        F.stochastic_depth_backward(x, x, 0.5, "row")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda x: F.dropout(x, 1.5), ValueError, id="p-above-1"),
        pytest.param(lambda x: F.dropout(x, -0.1), ValueError, id="p-negative"),
        pytest.param(lambda x: F.dropout(x, "0.5"), TypeError, id="p-string"),
        pytest.param(lambda x: F.dropout(x.astype(int), 0.5), TypeError, id="int-input"),
        pytest.param(lambda x: F.dropout(x, 0.5, mask=np.ones(3)), ValueError, id="mask-shape"),
        pytest.param(
            lambda x: F.dropout(x, 0.5, mask=np.full(x.shape, 2.0)), ValueError, id="mask-2"
        ),
        pytest.param(lambda x: F.dropout(x, 0.5, mask=[1, 0]), TypeError, id="mask-list"),
        pytest.param(lambda x: F.dropout(x, 0.5, generator=5), TypeError, id="generator-int"),
        pytest.param(lambda x: F.dropout2d(x[0, 0, 0], 0.5), ValueError, id="dropout2d-1d"),
        pytest.param(lambda x: F.stochastic_depth(x, 0.5, "col"), ValueError, id="sd-mode"),
        pytest.param(lambda x: F.stochastic_depth(x, 2.0, "row"), ValueError, id="sd-p"),
    ],
)
@pytest.mark.filterwarnings("ignore:dropout2d")
def test_random_op_refuses_bad_input(call, error):
    with pytest.raises(error):
        call(np.ones((2, 3, 4, 4)))


@pytest.mark.torch
def test_dropout2d_reads_3d_input_as_n_c_l_as_torch():
    """torch's dropout2d draws per (n, c) of a 3-D input (and warns); so does ref_cnn."""
    x = nonzero_normal(np.random.default_rng(2), (5, 4, 6))
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yt = n(torch.nn.functional.dropout2d(t(x), 0.5))
        mask = _mask_from(yt, x, (5, 4, 1))
        with pytest.warns(UserWarning, match=r"\(N, C, L\)"):
            y = F.dropout2d(x, 0.5, mask=mask)
    np.testing.assert_array_equal(y, yt)


def test_inplace_writes_into_x_as_torch():
    x = np.ones((3, 4))
    mask = np.eye(3, 4, dtype=bool)
    y = F.dropout(x, 0.5, inplace=True, mask=mask)
    assert y is x and np.array_equal(x, 2.0 * mask)


@pytest.mark.parametrize("name", RANDOM)
def test_random_op_float32_rule(name, f32_parity):
    """float32: within the float32 rule of torch's own float32 error (both are exact
    products by m/(1 − p) rounded once, so in fact bitwise equal)."""
    fwd, bwd, torch_fwd, keep_shape = _random_op(name)
    rng = np.random.default_rng(4)
    x = nonzero_normal(rng, (4, 3, 2, 5), np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    torch.manual_seed(1)
    xt = t(x, True)
    yt = torch_fwd(xt, 0.3)
    yt.backward(t(dy))
    mask = _mask_from(n(yt), x, keep_shape(x))
    y64 = fwd(x.astype(np.float64), 0.3, mask=mask)
    dx64 = bwd(dy.astype(np.float64), x.astype(np.float64), 0.3, mask=mask)
    for q, ours, theirs, exact in (
        ("y", fwd(x, 0.3, mask=mask), n(yt), y64),
        ("dx", bwd(dy, x, 0.3, mask=mask), n(xt.grad), dx64),
    ):
        f32_parity(q, ours, theirs, exact, witness="float64")
        np.testing.assert_array_equal(ours, theirs)
