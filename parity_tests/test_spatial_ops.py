"""The deterministic spatial ops against torch, the literal loops, finite differences and
the float32 rule [SPA-4 … SPA-10]: LP pooling, the shuffles, interpolate. The random ops
(SPA-1 … SPA-3) are tested in test_dropout.py. Gradients use a random upstream gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, nonzero_normal, optional, t

from ref_cnn import functional as F

torch = optional("torch")

eq = pytest.mark.equation


# ------------------------------------------------------------------ LP pooling (SPA-4)

LP_CASES = [  # (p, kernel, stride, ceil_mode, shape, sign): sign "abs" keeps x ≥ 0
    pytest.param(2, 2, None, False, (2, 3, 7, 7), "any", id="p2-k2"),
    pytest.param(2.0, 3, 2, True, (2, 3, 7, 6), "any", id="p2-k3-s2-ceil"),
    pytest.param(3, (2, 3), (2, 1), False, (1, 2, 6, 7), "any", id="p3-k2x3-s2x1-negative-sums"),
    pytest.param(1, 2, 1, False, (2, 2, 5, 5), "any", id="p1-k2-s1"),
    pytest.param(1.5, 2, 2, True, (1, 3, 7, 7), "abs", id="p1.5-k2-ceil"),
    pytest.param(1.5, 2, 2, False, (1, 3, 6, 6), "any", id="p1.5-negative-x-NaN"),
    pytest.param(0.5, 3, 2, False, (2, 2, 7, 7), "abs", id="p0.5-k3"),
    pytest.param(-1, 2, None, False, (1, 2, 6, 6), "any", id="p-1"),
    pytest.param(np.inf, 3, 2, True, (2, 2, 7, 6), "any", id="p-inf-max"),
    pytest.param(-np.inf, 2, 1, False, (2, 2, 5, 5), "any", id="p-minus-inf"),
    pytest.param(2, 2, None, False, (3, 6, 6), "any", id="p2-unbatched"),
]


def _lp_input(shape, sign, seed=0):
    x = nonzero_normal(np.random.default_rng(seed), shape)
    x = np.abs(x) if sign == "abs" else x
    x[..., :2, :2] = 0.0  # a window whose sum is 0: torch's gradient there is 0
    return x


@eq("SPA-4")
@pytest.mark.torch
@pytest.mark.parametrize(("p", "k", "s", "ceil", "shape", "sign"), LP_CASES)
def test_lp_pool2d_matches_torch(p, k, s, ceil, shape, sign, parity):
    x = _lp_input(shape, sign)
    xt = t(x, True)
    yt = torch.nn.functional.lp_pool2d(xt, p, k, s, ceil)
    dy = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yt.backward(t(dy))
    y = F.lp_pool2d(x, p, k, s, ceil)
    parity("y", y, n(yt))
    parity("dx", F.lp_pool2d_backward(dy, x, p, k, s, ceil), n(xt.grad))


@eq("SPA-4")
@pytest.mark.parametrize(("p", "k", "s", "ceil", "shape", "sign"), LP_CASES)
def test_lp_pool2d_matches_the_literal_loops(p, k, s, ceil, shape, sign, parity):
    from ref_cnn.literal import spatial as L

    x = _lp_input(shape, sign)
    y = F.lp_pool2d(x, p, k, s, ceil)
    parity("y", y, L.lp_pool2d(x, p, k, s, ceil), witness="literal loops")
    if np.isfinite(p):
        dy = np.random.default_rng(1).standard_normal(y.shape)
        dx = F.lp_pool2d_backward(dy, x, p, k, s, ceil)
        parity("dx", dx, L.lp_pool2d_backward(dy, x, p, k, s, ceil), witness="literal loops")


@eq("SPA-4")
def test_lp_pool2d_gradient_matches_finite_differences(fd_check):
    x = np.abs(nonzero_normal(np.random.default_rng(5), (1, 2, 6, 6)))
    dy = np.random.default_rng(6).standard_normal((1, 2, 3, 3))
    dx = F.lp_pool2d_backward(dy, x, 2.5, 2)
    fd_check("dx", lambda v: F.lp_pool2d(v, 2.5, 2), x, dy, dx)


@eq("SPA-4")
@pytest.mark.torch
def test_lp_pool2d_on_torchs_module_samples(parity):
    """torch's ModuleInfo samples of LPPool2d (op_db has no lp_pool2d entry) through
    `lp_pool2d`, with the module's constructor arguments."""
    from torch.testing._internal.common_modules import module_db

    info = next(m for m in module_db if m.module_cls is torch.nn.LPPool2d)
    torch.manual_seed(0)
    samples = info.module_inputs_func(info, "cpu", torch.float64, True, True)
    assert len(samples) == 3
    for i, sample in enumerate(samples):
        module = torch.nn.LPPool2d(*sample.constructor_input.args)
        xt = sample.forward_input.args[0]
        yt = module(xt)
        dy = np.random.default_rng(i).standard_normal(tuple(yt.shape))
        (gt,) = torch.autograd.grad(yt, xt, t(dy))
        x, args = n(xt).copy(), (module.norm_type, module.kernel_size, module.stride)
        parity(f"y[{i}]", F.lp_pool2d(x, *args, module.ceil_mode), n(yt))
        parity(f"dx[{i}]", F.lp_pool2d_backward(dy, x, *args, module.ceil_mode), n(gt))


# ------------------------------------------------------------------ shuffles (SPA-5 … SPA-7)

SHUFFLES = [
    pytest.param("channel_shuffle", (2, 12, 3, 4), 3, id="SPA-5-channel-g3", marks=eq("SPA-5")),
    pytest.param(
        "channel_shuffle", (12, 4, 5), 4, id="SPA-5-channel-unbatched-g4", marks=eq("SPA-5")
    ),
    pytest.param("pixel_shuffle", (2, 18, 3, 4), 3, id="SPA-6-pixel-r3", marks=eq("SPA-6")),
    pytest.param("pixel_shuffle", (2, 3, 8, 2, 5), 2, id="SPA-6-pixel-5d-r2", marks=eq("SPA-6")),
    pytest.param("pixel_unshuffle", (2, 3, 6, 9), 3, id="SPA-7-unshuffle-r3", marks=eq("SPA-7")),
    pytest.param("pixel_unshuffle", (4, 4, 2), 2, id="SPA-7-unshuffle-3d-r2", marks=eq("SPA-7")),
]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "shape", "arg"), SHUFFLES)
def test_shuffle_matches_torch_exactly(name, shape, arg, parity):
    """A permutation: forward and backward are bitwise torch's."""
    x = np.random.default_rng(0).standard_normal(shape)
    xt = t(x, True)
    yt = getattr(torch.nn.functional, name)(xt, arg)
    dy = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yt.backward(t(dy))
    y = getattr(F, name)(x, arg)
    dx = getattr(F, f"{name}_backward")(dy, x, arg)
    np.testing.assert_array_equal(y, n(yt))
    np.testing.assert_array_equal(dx, n(xt.grad))
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))


@eq("SPA-5", "SPA-6", "SPA-7")
def test_shuffles_follow_their_index_formulas():
    """The statements of SPA-5 … SPA-7, index by index (the second witness)."""
    x = np.random.default_rng(2).standard_normal((2, 12, 3, 2))
    g, r = 3, 2
    y = F.channel_shuffle(x, g)
    for i in range(g):
        for j in range(12 // g):
            np.testing.assert_array_equal(y[:, j * g + i], x[:, i * (12 // g) + j])
    y = F.pixel_shuffle(x, r)
    for c in range(3):
        for i in range(r):
            for j in range(r):
                np.testing.assert_array_equal(y[:, c, i::r, j::r], x[:, c * r * r + i * r + j])
    np.testing.assert_array_equal(F.pixel_unshuffle(y, r), x)
    assert F.pixel_unshuffle(np.ones((2, 3, 0, 4)), 2).shape == (2, 12, 0, 2)  # torch: unchanged


# ------------------------------------------------------------------ interpolate (SPA-8, SPA-9)

RESAMPLE = [  # (mode, align_corners, shape, keyword arguments)
    ("nearest", None, (2, 3, 4, 5), {"size": (7, 3)}),
    ("nearest", None, (2, 3, 5, 4), {"scale_factor": 1.7}),
    ("nearest", None, (1, 2, 5, 5), {"scale_factor": (0.6, 2.1), "recompute_scale_factor": True}),
    ("nearest", None, (1, 2, 4, 4), {"scale_factor": 1.1}),  # n_out = n_in: torch copies
    ("nearest", None, (1, 2, 5, 3), {"scale_factor": 2.1}),  # n_out = 2 n_in: o >> 1
    ("nearest", None, (3, 4, 5), {"size": 11}),
    ("nearest", None, (1, 2, 3, 4, 5), {"scale_factor": (1.5, 0.7, 2.0)}),
    ("nearest-exact", None, (2, 3, 5, 4), {"scale_factor": 1.7}),
    ("nearest-exact", None, (2, 3, 5, 4), {"size": (3, 9)}),
    ("bilinear", False, (2, 3, 4, 5), {"size": (7, 3)}),
    ("bilinear", True, (2, 3, 4, 5), {"size": (7, 3)}),
    ("bilinear", None, (2, 3, 5, 4), {"scale_factor": 1.7}),
    ("bilinear", True, (2, 3, 5, 4), {"scale_factor": 0.6}),
    ("bilinear", False, (1, 2, 5, 5), {"scale_factor": (0.6, 2.1), "recompute_scale_factor": True}),
    ("bilinear", True, (1, 2, 4, 6), {"size": (1, 1)}),  # align_corners with n_out = 1
    ("bilinear", False, (1, 2, 4, 4), {"scale_factor": 1.1}),  # n_out = n_in: torch copies
    ("linear", True, (2, 3, 5), {"size": 8}),
    ("linear", False, (2, 3, 5), {"scale_factor": 0.6}),
    ("trilinear", False, (1, 2, 3, 4, 5), {"scale_factor": (1.5, 0.7, 2.0)}),
    ("trilinear", True, (1, 2, 3, 4, 5), {"size": (4, 2, 7)}),
    ("area", None, (2, 3, 7, 5), {"size": (3, 4)}),
    ("area", None, (2, 3, 5), {"scale_factor": 1.7}),
    ("area", None, (1, 2, 3, 4, 5), {"scale_factor": (1.5, 0.7, 2.0)}),
]


def _resample_id(case):
    mode, align, shape, kw = case
    spec = "-".join(f"{k}={v}" for k, v in kw.items()).replace(" ", "")
    return f"{mode}-ac{align}-{'x'.join(map(str, shape))}-{spec}"


def _resample_params(literal_only=False):
    out = []
    for case in RESAMPLE:
        mode, _, shape, _ = case
        if literal_only and (mode not in ("nearest", "bilinear") or len(shape) != 4):
            continue
        out.append(pytest.param(*case, id=_resample_id(case), marks=eq(_SPA[mode])))
    return out


_SPA = {"nearest": "SPA-8", "nearest-exact": "SPA-8"}
_SPA.update(linear="SPA-9", bilinear="SPA-9", trilinear="SPA-9", area="SPA-10")


@pytest.mark.torch
@pytest.mark.parametrize(("mode", "align", "shape", "kw"), _resample_params())
def test_interpolate_matches_torch(mode, align, shape, kw, parity):
    x = np.random.default_rng(0).standard_normal(shape)
    xt = t(x, True)
    yt = torch.nn.functional.interpolate(xt, mode=mode, align_corners=align, **kw)
    dy = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yt.backward(t(dy))
    y = F.interpolate(x, mode=mode, align_corners=align, **kw)
    dx = F.interpolate_backward(dy, x, mode=mode, align_corners=align, **kw)
    parity("y", y, n(yt))
    parity("dx", dx, n(xt.grad))


@pytest.mark.parametrize(("mode", "align", "shape", "kw"), _resample_params(literal_only=True))
def test_interpolate_matches_the_literal_loops(mode, align, shape, kw, parity):
    from ref_cnn.literal import spatial as L

    x = np.random.default_rng(0).standard_normal(shape)
    y = F.interpolate(x, mode=mode, align_corners=align, **kw)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx = F.interpolate_backward(dy, x, mode=mode, align_corners=align, **kw)
    if mode == "nearest":
        y_lit = L.upsample_nearest2d(x, **kw)
        dx_lit = L.upsample_nearest2d_backward(dy, x, **kw)
    else:
        y_lit = L.upsample_bilinear2d(x, align_corners=align, **kw)
        dx_lit = L.upsample_bilinear2d_backward(dy, x, align_corners=align, **kw)
    parity("y", y, y_lit, witness="literal loops")
    parity("dx", dx, dx_lit, witness="literal loops")


@eq("SPA-10")
def test_area_is_adaptive_average_pooling(parity):
    """The second witness for 4-D area: ref_cnn's adaptive_avg_pool2d (its own suite's)."""
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 9))
    dy = np.random.default_rng(6).standard_normal((2, 3, 3, 4))
    y = F.interpolate(x, (3, 4), mode="area")
    parity("y", y, F.adaptive_avg_pool2d(x, (3, 4)), witness="adaptive_avg_pool2d")
    dx = F.interpolate_backward(dy, x, (3, 4), mode="area")
    parity("dx", dx, F.adaptive_avg_pool2d_backward(dy, x, (3, 4)), witness="adaptive_avg_pool2d")


@eq("SPA-9")
@pytest.mark.parametrize("align", [False, True], ids=["ac-False", "ac-True"])
def test_bilinear_gradient_matches_finite_differences(align, fd_check):
    x = np.random.default_rng(3).standard_normal((1, 2, 4, 5))
    dy = np.random.default_rng(4).standard_normal((1, 2, 7, 3))

    def run(v):
        return F.interpolate(v, (7, 3), mode="bilinear", align_corners=align)

    dx = F.interpolate_backward(dy, x, (7, 3), mode="bilinear", align_corners=align)
    fd_check("dx", run, x, dy, dx)


@eq("SPA-8")
@pytest.mark.parametrize("shape", [(1, 2, 4), (1, 2, 4, 3, 4)], ids=["1d", "3d"])
def test_nearest_backward_is_the_forward_adjoint(shape):
    """⟨dy, f(x)⟩ = ⟨f*(dy), x⟩ for the nearest map f, also at a scale factor that keeps the
    size (1.1), where torch's 1-D and 3-D backward assume the copy its forward does not make
    (so torch's gradient is not its forward's there; ref_cnn's forward is torch's)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    y = F.interpolate(x, scale_factor=1.1)
    assert y.shape == x.shape
    dy = rng.standard_normal(y.shape)
    dx = F.interpolate_backward(dy, x, scale_factor=1.1)
    assert np.isclose(np.sum(dy * y), np.sum(dx * x), rtol=1e-13)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda x: F.interpolate(x), ValueError, id="no-size-no-scale"),
        pytest.param(lambda x: F.interpolate(x, 3, 2.0), ValueError, id="size-and-scale"),
        pytest.param(lambda x: F.interpolate(x, (3, 3, 3)), ValueError, id="size-length"),
        pytest.param(lambda x: F.interpolate(x, (3.0, 3)), TypeError, id="size-float"),
        pytest.param(lambda x: F.interpolate(x, 0), ValueError, id="size-zero"),
        pytest.param(lambda x: F.interpolate(x, scale_factor=0.1), ValueError, id="empty-output"),
        pytest.param(
            lambda x: F.interpolate(x, 3, align_corners=True), ValueError, id="nearest-align"
        ),
        pytest.param(lambda x: F.interpolate(x, 3, mode="bicubic"), ValueError, id="mode"),
        pytest.param(lambda x: F.interpolate(x[:, :0], 3), ValueError, id="no-channels"),
        pytest.param(lambda x: F.interpolate(x, 3, mode="linear"), ValueError, id="linear-4d"),
        pytest.param(
            lambda x: F.interpolate(x[0], 3, mode="bilinear"), ValueError, id="bilinear-3d"
        ),
        pytest.param(
            lambda x: F.interpolate(x, 3, recompute_scale_factor=True),
            ValueError,
            id="recompute-size",
        ),
        pytest.param(
            lambda x: F.interpolate(x, 3, mode="bilinear", antialias=True),
            ValueError,
            id="antialias",
        ),
        pytest.param(lambda x: F.lp_pool2d(x, 0, 2), ValueError, id="lp-p0"),
        pytest.param(lambda x: F.lp_pool2d(x, "2", 2), TypeError, id="lp-p-string"),
        pytest.param(lambda x: F.lp_pool2d(x, 2, 5), ValueError, id="lp-kernel-too-large"),
        pytest.param(
            lambda x: F.lp_pool2d_backward(np.ones((2, 3, 2, 2), np.float32), x, np.inf, 2),
            TypeError,
            id="lp-inf-dy-dtype",
        ),
        pytest.param(lambda x: F.channel_shuffle(x, 4), ValueError, id="channels-not-divisible"),
        pytest.param(lambda x: F.channel_shuffle(x, 0), ValueError, id="groups-zero"),
        pytest.param(lambda x: F.channel_shuffle(x[0, 0], 1), ValueError, id="shuffle-2d"),
        pytest.param(lambda x: F.pixel_shuffle(x, 2), ValueError, id="pixel-channels"),
        pytest.param(lambda x: F.pixel_unshuffle(x, 3), ValueError, id="unshuffle-size"),
        pytest.param(lambda x: F.pixel_shuffle(x, 1.0), TypeError, id="pixel-float-factor"),
    ],
)
def test_spatial_op_refuses_bad_input(call, error):
    with pytest.raises(error):
        call(np.ones((2, 3, 4, 4)))


# ------------------------------------------------------------------ float32 rule

FLOAT32 = [
    pytest.param("lp_pool2d", id="SPA-4-lp_pool2d", marks=eq("SPA-4")),
    pytest.param("bilinear", id="SPA-9-bilinear", marks=eq("SPA-9")),
    pytest.param("bilinear-ac", id="SPA-9-bilinear-align", marks=eq("SPA-9")),
    pytest.param("nearest", id="SPA-8-nearest", marks=eq("SPA-8")),
    pytest.param("pixel_shuffle", id="SPA-6-pixel_shuffle", marks=eq("SPA-6")),
]


def _float32_op(name):
    """(ours forward, ours backward, torch forward), each taking x alone (and dy)."""
    tF = torch.nn.functional  # noqa: N806 (torch's own alias)
    if name == "lp_pool2d":
        args = (2.5, 3, 2, True)
        return (
            lambda x: F.lp_pool2d(x, *args),
            lambda dy, x: F.lp_pool2d_backward(dy, x, *args),
            lambda x: tF.lp_pool2d(x, *args),
        )
    if name == "pixel_shuffle":
        return (
            lambda x: F.pixel_shuffle(x, 2),
            lambda dy, x: F.pixel_shuffle_backward(dy, x, 2),
            lambda x: tF.pixel_shuffle(x, 2),
        )
    mode, align = name.split("-")[0], (True if name.endswith("-ac") else None)
    kw = {"scale_factor": 1.7, "mode": mode, "align_corners": align}
    return (
        lambda x: F.interpolate(x, **kw),
        lambda dy, x: F.interpolate_backward(dy, x, **kw),
        lambda x: tF.interpolate(x, **kw),
    )


@pytest.mark.torch
@pytest.mark.parametrize("name", FLOAT32)
def test_float32_rule(name, f32_parity):
    """float32 against torch's float64 result, within FLOAT32_FACTOR of torch's own float32
    error on the same case (and at least ten float32 ulps): `_metric.float32_bound`."""
    fwd, bwd, torch_fwd = _float32_op(name)
    rng = np.random.default_rng(8)
    x64 = np.abs(nonzero_normal(rng, (2, 4, 7, 6)))
    x32 = x64.astype(np.float32)
    out = {}
    for dtype, x in ((np.float64, x64), (np.float32, x32)):
        xt = t(x, True)
        yt = torch_fwd(xt)
        if "dy" not in out:
            out["dy"] = rng.standard_normal(tuple(yt.shape))
        yt.backward(t(out["dy"].astype(dtype)))
        out[dtype] = (n(yt), n(xt.grad))
    dy32 = out["dy"].astype(np.float32)
    ours = (fwd(x32), bwd(dy32, x32))
    for q, mine, theirs, exact in zip(
        ("y", "dx"), ours, out[np.float32], out[np.float64], strict=True
    ):
        f32_parity(q, mine, theirs, exact)
