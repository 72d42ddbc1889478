"""Bad input fails early with a ValueError/TypeError that names the problem; inputs are
never modified; NaN propagates as in torch. [MB-3, MB-4, MB-6, MB-8, IC-4]
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import functional as F

tf = optional("torch.nn.functional")

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 6, 6))
W = rng.standard_normal((4, 3, 3, 3))
DY = rng.standard_normal((2, 4, 4, 4))

BAD = [
    pytest.param(lambda: F.conv2d(X[0, 0], W), ValueError, "x must be 4-D", id="conv-x-2d"),
    pytest.param(lambda: F.conv2d(X, W[0]), ValueError, "w must be 4-D", id="conv-w-3d"),
    pytest.param(lambda: F.conv2d(X, W[:, :2]), ValueError, "channel mismatch", id="conv-channels"),
    pytest.param(
        lambda: F.conv2d(X, np.zeros((1, 3, 7, 7))),
        ValueError,
        "larger than the padded input",
        id="conv-kernel-too-big",
    ),
    pytest.param(
        lambda: F.conv2d(X, W, stride=0), ValueError, "stride must be positive", id="conv-stride-0"
    ),
    pytest.param(
        lambda: F.conv2d(X, W, stride=(1, -1)),
        ValueError,
        "stride must be positive",
        id="conv-stride-negative",
    ),
    pytest.param(
        lambda: F.conv2d(X, W, padding=-1),
        ValueError,
        "padding must be non-negative",
        id="conv-padding-negative",
    ),
    pytest.param(
        lambda: F.conv2d(X, W, padding="full"),
        ValueError,
        "padding must be an int, a pair",
        id="conv-padding-mode",
    ),
    pytest.param(
        lambda: F.conv2d(X, W, padding="same", stride=2),
        ValueError,
        "needs stride 1",
        id="conv-same-strided",
    ),
    pytest.param(
        lambda: F.conv2d(X, W, padding=1.5),
        TypeError,
        "padding must be an int",
        id="conv-padding-float",
    ),
    pytest.param(
        lambda: F.conv2d(X, np.zeros((4, 1, 3, 3)), groups=2),
        ValueError,
        "groups=2 must divide",
        id="conv-groups-not-dividing",
    ),
    pytest.param(
        lambda: F.conv2d(X, W, groups=0), ValueError, "groups must be positive", id="conv-groups-0"
    ),
    pytest.param(
        lambda: F.conv2d(X, W, b=np.zeros(3)),
        ValueError,
        r"b must have shape \(4,\)",
        id="conv-bias-length",
    ),
    pytest.param(
        lambda: F.conv2d(X.tolist(), W), TypeError, "x must be a numpy.ndarray", id="conv-list"
    ),
    pytest.param(
        lambda: F.conv2d(X.astype(np.int64), W),
        TypeError,
        "float32 or float64",
        id="conv-int-dtype",
    ),
    pytest.param(
        lambda: F.conv2d(X.astype(np.float32), W), TypeError, "dtypes differ", id="conv-mixed-dtype"
    ),
    pytest.param(
        lambda: F.conv2d_backward(DY[:, :, :3], X, W),
        ValueError,
        "forward output's shape",
        id="conv-dy-shape",
    ),
    pytest.param(
        lambda: F.conv2d_untied(X, W, np.zeros((4, 3, 3))),
        ValueError,
        "untied bias must have shape",
        id="untied-bias-shape",
    ),
    pytest.param(
        lambda: F.max_pool2d(X, 3, padding=2),
        ValueError,
        "at most half the kernel",
        id="maxpool-padding-over-half",
    ),
    pytest.param(
        lambda: F.avg_pool2d(X, 2, padding=2),
        ValueError,
        "at most half the kernel",
        id="avgpool-padding-over-half",
    ),
    pytest.param(
        lambda: F.max_pool2d(X, 7),
        ValueError,
        "larger than the padded input",
        id="maxpool-kernel-too-big",
    ),
    pytest.param(
        lambda: F.max_pool2d(X, 2, stride=0),
        ValueError,
        "stride must be positive",
        id="maxpool-stride-0",
    ),
    pytest.param(lambda: F.max_pool2d(X[0, 0], 2), ValueError, "x must be 4-D", id="maxpool-2d"),
    pytest.param(
        lambda: F.max_pool2d_backward(np.zeros((2, 3, 2, 2)), X, 2),
        ValueError,
        "forward output's shape",
        id="maxpool-dy-shape",
    ),
    pytest.param(
        lambda: F.avg_pool2d_backward(np.zeros((2, 3, 2, 2)), X, 2),
        ValueError,
        "forward output's shape",
        id="avgpool-dy-shape",
    ),
    pytest.param(
        lambda: F.correlate2d(X[0, 0], W[0, 0], mode="circular"),
        ValueError,
        "mode must be one of",
        id="correlate-mode",
    ),
    pytest.param(
        lambda: F.correlate2d(X[0], W[0, 0]), ValueError, "a must be 2-D", id="correlate-3d"
    ),
    pytest.param(
        lambda: F.correlate2d(np.zeros((2, 5)), np.zeros((3, 3))),
        ValueError,
        "at least as large",
        id="correlate-valid-mixed",
    ),
    pytest.param(
        lambda: F.convolve2d("abc", W[0, 0]),
        TypeError,
        "a must be a numpy.ndarray",
        id="convolve-str",
    ),
    pytest.param(
        lambda: F.linear(X[0, 0], np.zeros((5, 2))),
        ValueError,
        "features but w",
        id="linear-features",
    ),
    pytest.param(
        lambda: F.linear(X[0, 0], np.zeros((6, 2)), np.zeros(3)),
        ValueError,
        r"b must have shape \(2,\)",
        id="linear-bias",
    ),
    pytest.param(
        lambda: F.linear_backward(np.zeros((6, 3)), X[0, 0], np.zeros((6, 2))),
        ValueError,
        "forward output's shape",
        id="linear-dy-shape",
    ),
    pytest.param(
        lambda: F.mse_loss(np.zeros(3), np.zeros(4)),
        ValueError,
        "must have the same shape",
        id="mse-shapes",
    ),
    pytest.param(
        lambda: F.mse_loss(np.zeros(3), np.zeros(3), reduction="max"),
        ValueError,
        "reduction must be one of",
        id="mse-reduction",
    ),
    pytest.param(
        lambda: F.binary_cross_entropy(np.full(3, 1.5), np.zeros(3)),
        ValueError,
        r"probabilities in \[0, 1\]",
        id="bce-range",
    ),
    pytest.param(
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
        ValueError,
        "outside",
        id="ce-target-range",
    ),
    pytest.param(
        lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
        TypeError,
        "integer",
        id="ce-target-float",
    ),
    pytest.param(
        lambda: F.softmax(np.zeros((2, 3)), axis=2),
        ValueError,
        "axis 2 is out of range",
        id="softmax-axis",
    ),
    pytest.param(
        lambda: F.sigmoid_backward(np.zeros(3), np.zeros(4)),
        ValueError,
        "forward output's shape",
        id="sigmoid-dy-shape",
    ),
    pytest.param(
        lambda: F.im2col(X, 7),
        ValueError,
        "larger than the padded input",
        id="im2col-kernel-too-big",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD)
@pytest.mark.engineering
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


CALLS = [
    pytest.param(lambda x, w, dy: F.conv2d(x, w, padding=1), id="conv2d"),
    pytest.param(lambda x, w, dy: F.conv2d_backward(dy, x, w, padding=1), id="conv2d_backward"),
    pytest.param(lambda x, w, dy: F.max_pool2d(x, 3, 1, 1), id="max_pool2d"),
    pytest.param(lambda x, w, dy: F.max_pool2d_backward(x, x, 3, 1, 1), id="max_pool2d_backward"),
    pytest.param(lambda x, w, dy: F.avg_pool2d(x, 3, 1, 1), id="avg_pool2d"),
    pytest.param(lambda x, w, dy: F.avg_pool2d_backward(x, x, 3, 1, 1), id="avg_pool2d_backward"),
    pytest.param(lambda x, w, dy: F.sigmoid(x), id="sigmoid"),
    pytest.param(lambda x, w, dy: F.softmax(x), id="softmax"),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.engineering
def test_inputs_are_never_modified(call):
    """Read-only inputs: any write into them would raise, and the values stay the same."""
    x, w, dy = X.copy(), W.copy(), rng.standard_normal((2, 4, 6, 6))
    before = [a.copy() for a in (x, w, dy)]
    for a in (x, w, dy):
        a.flags.writeable = False
    call(x, w, dy)
    for a, b in zip((x, w, dy), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.engineering
@pytest.mark.torch
def test_nan_propagates_through_conv_like_torch():
    x = X.copy()
    x[0, 1, 2, 3] = np.nan
    ours = F.conv2d(x, W, padding=1)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(n(tf.conv2d(t(x), t(W), padding=1))))


@pytest.mark.parametrize(
    "where",
    ["x-nan", "x-inf", "w-inf", "dy-nan", "dy-inf", "w-nan-one-filter"],
)
@pytest.mark.parametrize("stride", [1, 2], ids=["stride-1", "stride-2"])
@pytest.mark.parametrize("c_out", [5, 3], ids=["cout-5", "cout-3"])  # 3: the flipped path
@pytest.mark.engineering
@pytest.mark.torch
def test_non_finite_values_reach_the_same_gradients_as_torch(where, stride, c_out):
    """NaN and inf in x, w or δ give NaN/inf in exactly the gradient entries where torch has
    them: the fast paths' extra zero columns must not spread them (inf·0 = NaN)."""
    rng = np.random.default_rng(21)
    x, w = rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((c_out, 2, 3, 3))
    dy = rng.standard_normal(F.conv2d(x, w, padding=1, stride=stride).shape)
    if where.startswith("x-"):
        x[1, 0, 2, 0] = np.nan if where == "x-nan" else np.inf
    elif where == "w-inf":
        w[0, 1, 0, 2] = np.inf
    elif where.startswith("dy-"):
        dy[0, 2, 1, 1] = np.nan if where == "dy-nan" else np.inf
    else:
        w[-1] = np.nan
    xt, wt = t(x, True), t(w, True)
    tf.conv2d(xt, wt, padding=1, stride=stride).backward(t(dy))
    dx, dw, _ = F.conv2d_backward(dy, x, w, padding=1, stride=stride)
    for ours, ref in ((dx, n(xt.grad)), (dw, n(wt.grad))):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))
        finite = np.isfinite(ref)
        np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-10, atol=1e-12)


@pytest.mark.engineering
def test_float32_in_float32_out():
    x, w = X.astype(np.float32), W.astype(np.float32)
    assert F.conv2d(x, w).dtype == np.float32
    assert all(g.dtype == np.float32 for g in F.conv2d_backward(DY.astype(np.float32), x, w))
    assert F.max_pool2d(x, 2).dtype == np.float32
    assert F.avg_pool2d_backward(np.ones((2, 3, 3, 3), np.float32), x, 2).dtype == np.float32


@pytest.mark.engineering
def test_an_integer_image_gives_one_error_naming_every_problem_and_its_fix():
    """AV-1's numbers typed as integer 2-D arrays: the dtype and the missing axes of x and w
    in one error (caught as TypeError or ValueError), each with the call that fixes it."""
    x = np.array([[1, 7, 2], [11, 1, 23], [2, 2, 2]])
    f = np.array([[1, 1], [0, 1]])
    for caught in (TypeError, ValueError):
        with pytest.raises(caught) as info:
            F.conv2d(x, f)
    text = str(info.value)
    for fix in (
        "x.astype(np.float64)",
        "w.astype(np.float64)",
        "x.reshape(1, 1, 3, 3)",
        "w.reshape(1, 1, 2, 2)",
        "4-D (N, C_in, H, W) or 3-D unbatched (C_in, H, W)",
    ):
        assert fix in text, text
    fixed = F.conv2d(
        x.astype(np.float64).reshape(1, 1, 3, 3), f.astype(np.float64).reshape(1, 1, 2, 2)
    )
    np.testing.assert_array_equal(fixed, [[[[9, 32], [14, 26]]]])


@pytest.mark.parametrize(
    ("call", "fix"),
    [
        pytest.param(lambda: F.conv2d(X.tolist(), W), "np.asarray(x, dtype=np.float64)", id="list"),
        pytest.param(
            lambda: F.conv2d(X.astype(np.float32), W), "x.astype(np.float64)", id="mixed-dtype"
        ),
        pytest.param(lambda: F.max_pool2d(X[0, 0] > 0, 2), "x.astype(np.float64)", id="bool-pool"),
        pytest.param(lambda: F.max_pool2d(X[0, 0], 2), "x.reshape(1, 1, 6, 6)", id="pool-2d"),
        pytest.param(
            lambda: F.conv2d_backward(DY[:, :, :3], X, W), "same shape", id="conv-dy-shape"
        ),
        pytest.param(lambda: F.linear(X[0, 0].astype(int), W[0, 0]), "astype", id="linear-int"),
    ],
)
@pytest.mark.engineering
def test_common_mistakes_say_how_to_fix_them(call, fix):
    with pytest.raises((TypeError, ValueError), match=re.escape(fix)):
        call()


@pytest.mark.parametrize(
    ("call", "fix"),
    [
        pytest.param(lambda: F.correlate2d(X, W[0, 0]), "a[0, 0]", id="correlate-4d"),
        pytest.param(lambda: F.correlate2d([[1.0]], W[0, 0]), "np.asarray(a", id="correlate-list"),
        pytest.param(lambda: F.flatten(X[0, 0, 0]), "x[None]", id="flatten-1d"),
        pytest.param(lambda: F.linear(X, np.zeros((5, 2))), "flatten(x)", id="linear-images"),
        pytest.param(lambda: F.cross_entropy(X[0, 0], [0, 1]), "np.asarray(target)", id="ce-list"),
        pytest.param(
            lambda: F.conv2d(X.transpose(0, 2, 3, 1), W),
            "x.transpose(0, 3, 1, 2)",
            id="conv-channels-last",
        ),
        pytest.param(lambda: F.conv2d(X, W[:, :2]), "w.shape[1] * groups = 2", id="conv-channels"),
        pytest.param(
            lambda: F.conv2d(X, np.zeros((1, 3, 7, 7))), "smaller kernel", id="conv-kernel-too-big"
        ),
        pytest.param(lambda: F.im2col(X, 7), "smaller kernel", id="im2col-kernel-too-big"),
        pytest.param(lambda: F.max_pool2d(X, 7), "smaller kernel_size", id="pool-kernel-too-big"),
    ],
)
@pytest.mark.engineering
def test_more_common_mistakes_say_how_to_fix_them(call, fix):
    with pytest.raises((TypeError, ValueError), match=re.escape(fix)):
        call()
