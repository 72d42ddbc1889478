"""The kit's cases for the ops of modern CNNs: activations, normalisation, spatial ops, dropout.

Shapes are NCHW. An activation case's `points` are exact values written at both ends of the
flattened input (a vectorised loop's body and its scalar tail both meet them): the kinks and
thresholds where an implementation takes the wrong side. `scale` and `shift` set the spread
of the other values (a large scale reaches exp's overflow in float32).
"""

from __future__ import annotations


def _case(id_, x, **kw):
    return {"id": id_, "x": x, "kw": kw}


def _act(id_, x, points=(), scale=3.0, shift=0.0, **kw):
    return {"id": id_, "x": x, "points": tuple(points), "scale": scale, "shift": shift, "kw": kw}


def _elementwise(points, *extra):
    """Every activation's cases: its kinks, a small odd count (only a scalar tail), a tile of
    67 channels × 35 × 17 (a vector body with a remainder), magnitudes where e^x overflows."""
    return [
        _act("kinks", (2, 3, 5, 7), points),
        _act("odd-count-37-tail", (1, 1, 1, 37), points),
        _act("tile-c-67-35x17", (2, 67, 35, 17), points, scale=4.0),
        _act("large-magnitude-x100", (2, 3, 4, 5), points, scale=100.0),
        *extra,
    ]


# the kink of each activation, its neighbours on both sides, and 0
RELU6_CASES = _elementwise((0.0, -0.0, 6.0, 5.999, 6.001, 1e-3, -1e-3, 3.0))
HARDTANH_CASES = _elementwise(
    (-1.0, 1.0, -1.001, 1.001, 0.0),
    _act("bounds-minus-2-2.5", (2, 3, 4, 5), (-2.0, 2.5, -2.001, 2.501), min_val=-2.0, max_val=2.5),
)
HARDSIGMOID_CASES = _elementwise((-3.0, 3.0, -2.999, 2.999, -3.001, 3.001, 0.0))
HARDSWISH_CASES = _elementwise((-3.0, 3.0, -2.999, 2.999, -3.001, 3.001, 0.0, -1.5))
SILU_CASES = _elementwise((0.0, -30.0, 30.0, -100.0))
GELU_CASES = [
    *_elementwise((0.0, -5.0, 5.0, -10.0, 10.0)),
    *(
        {**c, "id": f"tanh-{c['id']}", "kw": {"approximate": "tanh"}}
        for c in _elementwise((0.0, -5.0, 5.0, -10.0, 10.0))
    ),
]
ELU_CASES = _elementwise(
    (0.0, -0.0, 1e-8, -1e-8, -40.0),
    _act("alpha-0.5", (2, 3, 4, 5), (0.0, -1e-8, -40.0), alpha=0.5),
)
SELU_CASES = _elementwise((0.0, -0.0, 1e-8, -1e-8, -40.0))
# α a float32 number: torch's celu backward takes α rounded to float32 (docs/activations.md)
CELU_CASES = _elementwise(
    (0.0, -0.0, 1e-8, -1e-8, -40.0),
    _act("alpha-2", (2, 3, 4, 5), (0.0, -1e-8, -40.0), alpha=2.0),
    _act("alpha-0.5", (2, 3, 4, 5), (0.0, -1e-8, -40.0), alpha=0.5),
)
# βx = threshold takes the smooth branch, the linear one only above it
SOFTPLUS_CASES = _elementwise(
    (20.0, 19.999, 20.001, 0.0, -30.0),
    _act("beta-2-threshold-at-x-10", (2, 3, 4, 5), (10.0, 9.999, 10.001), scale=8.0, beta=2.0),
    _act(
        "beta-0.5-threshold-3-at-x-6",
        (2, 3, 4, 5),
        (6.0, 5.999, 6.001),
        scale=5.0,
        beta=0.5,
        threshold=3.0,
    ),
)
MISH_CASES = _elementwise((0.0, -30.0, 30.0, -100.0))
LOGSIGMOID_CASES = _elementwise((0.0, -50.0, 50.0, -800.0, 800.0))  # e^800 overflows float64
SOFTSIGN_CASES = _elementwise((0.0, -0.0, 1e6, -1e6))
# weight: one slope for every element (`slopes` 1) or one per channel
PRELU_CASES = [
    {**_act("per-channel", (2, 3, 5, 7), (0.0, -0.0, 1e-8, -1e-8)), "slopes": "channels"},
    {**_act("one-slope", (2, 3, 5, 7), (0.0, -1e-8)), "slopes": 1},
    {**_act("odd-count-37-tail", (1, 1, 1, 37), (0.0, -1e-8)), "slopes": "channels"},
    {**_act("tile-c-67-35x17", (2, 67, 35, 17), (0.0, -1e-8)), "slopes": "channels"},
    {**_act("unbatched-chw", (3, 5, 6), (0.0,)), "slopes": 1},
]
# the halves along dim: channels (even, 2·67 for a tile), the last axis
GLU_CASES = [
    _act("dim-1-channels", (2, 6, 5, 7), dim=1),
    _act("dim-last-default", (2, 3, 4, 10)),
    _act("dim-minus-2", (2, 3, 8, 5), dim=-2),
    _act("tile-dim-1-c-134", (2, 134, 9, 7), dim=1),
    _act("large-magnitude-x100", (2, 4, 3, 6), scale=100.0, dim=1),
]


# -------------------------------------------------------------------------- normalisation


# `affine`: weight and bias of the normalised shape (or (C,)); `shift` adds a mean far from 0
# (a variance taken as E[x²] − E[x]² cancels there)
def _norm(id_, x, affine=True, shift=0.0, **kw):
    return {"id": id_, "x": x, "affine": affine, "shift": shift, "kw": kw}


LAYER_NORM_CASES = [
    _norm("chw", (2, 3, 5, 7), normalized_shape=(3, 5, 7)),
    _norm("last-axis", (2, 3, 4, 9), normalized_shape=(9,)),
    _norm("no-affine-hw", (2, 3, 5, 6), affine=False, normalized_shape=(5, 6)),
    _norm("mean-3e3-eps-1e-3", (2, 4, 3, 5), shift=3e3, normalized_shape=(4, 3, 5), eps=1e-3),
    _norm("tile-c-67-chw", (3, 67, 5, 7), normalized_shape=(67, 5, 7)),
    _norm("tile-w-130", (2, 3, 130), normalized_shape=(130,)),
]
RMS_NORM_CASES = [
    _norm("chw-eps-none", (2, 3, 5, 7), normalized_shape=(3, 5, 7)),
    _norm("last-axis-eps-1e-6", (2, 3, 4, 9), normalized_shape=(9,), eps=1e-6),
    _norm("no-weight", (2, 3, 5, 6), affine=False, normalized_shape=(5, 6)),
    _norm("mean-300", (2, 4, 3, 5), shift=300.0, normalized_shape=(3, 5)),
    _norm("tile-w-130", (2, 3, 130), normalized_shape=(130,)),
]
# tiny and large groups: 1 group (layer norm over C, H, W), C groups (instance norm), groups
# of 1 channel × 1 position (variance 0), odd channel counts, 67·3 and 2·65 channels
GROUP_NORM_CASES = [
    _norm("groups-3-of-6", (2, 6, 5, 7), num_groups=3),
    _norm("one-group", (2, 5, 4, 6), num_groups=1),
    _norm("groups-equal-channels-5", (2, 5, 4, 6), num_groups=5),
    _norm("odd-c-15-groups-5-no-affine", (3, 15, 3, 5), affine=False, num_groups=5),
    _norm("groups-of-1-channel-1x2", (4, 6, 1, 2), num_groups=6),
    _norm("3d-ncl-eps-1e-3", (2, 8, 11), num_groups=4, eps=1e-3),
    _norm("mean-3e3", (2, 6, 4, 5), shift=3e3, num_groups=2),
    _norm("tile-c-201-groups-3", (2, 201, 5, 7), num_groups=3),
    _norm("tile-c-130-groups-65", (2, 130, 6, 5), num_groups=65),
]
# running statistics are used (and given) only where use_input_stats is False
INSTANCE_NORM_CASES = [
    _norm("affine", (2, 3, 5, 7)),
    _norm("no-affine-default", (2, 5, 4, 6), affine=False),
    _norm("3d-ncl", (3, 4, 9)),
    {**_norm("running-stats", (2, 3, 4, 5), use_input_stats=False), "running": True},
    _norm("two-positions-1x2", (3, 5, 1, 2)),
    _norm("mean-3e3-eps-1e-3", (2, 4, 5, 6), shift=3e3, eps=1e-3),
    _norm("tile-c-67-35x17", (2, 67, 35, 17)),
]
# the window over channels: odd and even sizes (even: one more channel before than after),
# a window wider than C, AlexNet's k = 2, a large α where the denominator dominates
LOCAL_RESPONSE_NORM_CASES = [
    _case("alexnet-size-5-k-2", (2, 7, 5, 6), size=5, alpha=1e-4, beta=0.75, k=2.0),
    _case("size-3-alpha-1-beta-0.5", (2, 6, 4, 5), size=3, alpha=1.0, beta=0.5),
    _case("even-size-4", (2, 7, 4, 5), size=4, alpha=0.5),
    _case("size-11-wider-than-c-5", (2, 5, 4, 4), size=11, alpha=0.8, beta=0.9, k=1.5),
    _case("size-1", (2, 3, 4, 5), size=1, alpha=0.7),
    _case("3d-ncl", (2, 9, 13), size=3, alpha=0.3),
    _case("tile-c-67-size-5", (2, 67, 7, 9), size=5, alpha=0.3),
]
# `tiny`: a row whose norm is below eps (x/max(‖x‖, eps): the clamp's threshold)
NORMALIZE_CASES = [
    _case("p2-dim-1-channels", (2, 5, 4, 6)),
    _case("p1-dim-last", (2, 3, 4, 7), p=1.0, dim=-1),
    _case("p3-dim-0", (3, 4, 5, 2), p=3.0, dim=0),
    _case("p-0.5-dim-2", (2, 3, 6, 4), p=0.5, dim=2),
    {**_case("norm-below-eps-1e-6", (2, 5, 3, 4), eps=1e-6), "tiny": True},
    _case("tile-c-67", (2, 67, 5, 7)),
]


# ---------------------------------------------------------------------------- spatial ops

# `positive`: inputs drawn above 0 (an odd p of a negative window sum is NaN in torch)
LP_POOL_CASES = [
    _case("p2-k2", (2, 3, 6, 8), norm_type=2.0, kernel_size=2),
    {
        **_case(
            "p3-k3-s2-ceil", (1, 2, 7, 9), norm_type=3.0, kernel_size=3, stride=2, ceil_mode=True
        ),
        "positive": True,
    },
    {
        **_case("p1-k2x3-s1", (2, 2, 5, 6), norm_type=1.0, kernel_size=(2, 3), stride=1),
        "positive": True,
    },
    _case("p2-unbatched-chw", (3, 6, 6), norm_type=2.0, kernel_size=3, stride=2),
    _case("p4-k2x1", (2, 3, 5, 5), norm_type=4.0, kernel_size=(2, 1)),
    _case("tile-c-67-out-33x35", (2, 67, 34, 36), norm_type=2.0, kernel_size=2, stride=1),
]
CHANNEL_SHUFFLE_CASES = [
    _case("groups-2-c-4", (2, 4, 3, 5), groups=2),
    _case("groups-3-c-9", (2, 9, 4, 4), groups=3),
    _case("odd-c-15-groups-5", (1, 15, 3, 3), groups=5),
    _case("groups-1", (2, 3, 2, 2), groups=1),
    _case("groups-equal-channels", (2, 6, 2, 3), groups=6),
    _case("3d-ncl", (2, 6, 7), groups=2),
    _case("tile-c-134-groups-2", (2, 134, 5, 7), groups=2),
]
PIXEL_SHUFFLE_CASES = [
    _case("r2-c-12", (2, 12, 3, 5), upscale_factor=2),
    _case("r3-c-9-odd-hw", (1, 9, 5, 7), upscale_factor=3),
    _case("r1", (2, 3, 4, 4), upscale_factor=1),
    _case("unbatched-chw", (8, 3, 3), upscale_factor=2),
    _case("tile-c-268-out-34x38", (1, 268, 17, 19), upscale_factor=2),
]
PIXEL_UNSHUFFLE_CASES = [
    _case("r2-c-3", (2, 3, 6, 8), downscale_factor=2),
    _case("r3-h-6-w-9", (1, 2, 6, 9), downscale_factor=3),
    _case("r1", (2, 3, 4, 4), downscale_factor=1),
    _case("unbatched-chw", (3, 4, 6), downscale_factor=2),
    _case("tile-c-67-in-34x38", (1, 67, 34, 38), downscale_factor=2),
]


def _interp(id_, x, mode, **kw):
    return _case(id_, x, mode=mode, **kw)


# nearest: the source index ⌊o·scale⌋ with the given scale or n_in/n_out; bilinear: both
# align_corners, sizes of 1 (align_corners divides by n_out − 1)
INTERPOLATE_CASES = [
    _interp("nearest-size-up-5x7-to-9x11", (2, 3, 5, 7), "nearest", size=(9, 11)),
    _interp("nearest-scale-2", (2, 3, 4, 5), "nearest", scale_factor=2),
    _interp("nearest-down-7x9-to-3x4", (1, 2, 7, 9), "nearest", size=(3, 4)),
    _interp("nearest-scale-1.5", (1, 2, 5, 6), "nearest", scale_factor=1.5),
    _interp("bilinear-up", (2, 3, 4, 5), "bilinear", size=(7, 9), align_corners=False),
    _interp("bilinear-up-align", (2, 3, 4, 5), "bilinear", size=(7, 9), align_corners=True),
    _interp("bilinear-down", (1, 2, 9, 8), "bilinear", size=(4, 3), align_corners=False),
    _interp("bilinear-down-align", (1, 2, 9, 8), "bilinear", size=(4, 3), align_corners=True),
    _interp("bilinear-scale-1.7", (1, 2, 5, 6), "bilinear", scale_factor=1.7, align_corners=False),
    _interp("bilinear-out-1x1-align", (1, 2, 4, 5), "bilinear", size=(1, 1), align_corners=True),
    _interp("bilinear-in-1xW-align", (1, 2, 1, 5), "bilinear", size=(3, 8), align_corners=True),
    _interp(
        "tile-bilinear-c-67-to-35x37",
        (1, 67, 17, 19),
        "bilinear",
        size=(35, 37),
        align_corners=False,
    ),
    _interp(
        "tile-bilinear-align-to-33x49",
        (2, 3, 16, 24),
        "bilinear",
        size=(33, 49),
        align_corners=True,
    ),
    _interp("tile-nearest-to-35x49", (2, 5, 17, 24), "nearest", size=(35, 49)),
]


# ----------------------------------------------------------------- dropout, stochastic depth


# `mask`: the keep-mask handed to the target, of the noise's shape ("full") or without its
# trailing 1s ("compact"); "ones"/"zeros" keep or drop everything. p = 0, eval mode and p = 1
# draw nothing: every target, torch's own included, runs those cases without a mask.
def _drop(id_, x, mask="full", **kw):
    return {"id": id_, "x": x, "mask": mask, "kw": kw}


DROPOUT_CASES = [
    _drop("p-0.5-mask", (2, 3, 5, 7), p=0.5),
    _drop("p-0.9-mask", (2, 3, 4, 5), p=0.9),
    _drop("tile-p-0.2-mask-c-67-35x17", (2, 67, 35, 17), p=0.2),
    _drop("p-0-identity", (2, 3, 4, 5), p=0.0),
    _drop("eval-mode-identity", (2, 3, 4, 5), p=0.5, training=False),
    _drop("p-1-zeros", (2, 3, 4, 5), p=1.0),
]
DROPOUT2D_CASES = [
    _drop("p-0.5-mask-nc11", (4, 6, 5, 7), p=0.5),
    _drop("p-0.3-mask-nc", (4, 6, 3, 4), "compact", p=0.3),
    _drop("tile-p-0.5-c-67", (3, 67, 9, 7), p=0.5),
    _drop("eval-mode-identity", (2, 3, 4, 5), p=0.5, training=False),
    _drop("p-1-zeros", (2, 3, 4, 5), p=1.0),
]
STOCHASTIC_DEPTH_CASES = [
    _drop("row-p-0.5-mask-n111", (6, 3, 4, 5), p=0.5, mode="row"),
    _drop("row-p-0.2-mask-n", (8, 2, 3, 3), "compact", p=0.2, mode="row"),
    _drop("tile-row-p-0.5-c-67", (5, 67, 9, 7), p=0.5, mode="row"),
    _drop("batch-kept", (3, 2, 4, 5), "ones", p=0.3, mode="batch"),
    _drop("batch-dropped", (3, 2, 4, 5), "zeros", p=0.3, mode="batch"),
    _drop("p-0-identity", (2, 3, 4, 5), p=0.0, mode="row"),
    _drop("eval-mode-identity", (2, 3, 4, 5), p=0.5, mode="row", training=False),
    _drop("p-1-zeros", (2, 3, 4, 5), p=1.0, mode="batch"),
]
