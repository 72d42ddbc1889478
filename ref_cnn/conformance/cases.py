"""The kit's cases: each names the edge case it covers (shared with the parity suite).

Shapes are NCHW; a conv case's weight is (C_out, C_in/groups, kH, kW). `kw` holds the
options, passed by torch's keyword names.
"""

from __future__ import annotations


def _conv(id_, x, w, bias=True, **kw):
    return {"id": id_, "x": x, "w": w, "bias": bias, "kw": kw}


# (N, C_in, H, W), (C_out, C_in/groups, kH, kW): each names the edge case it covers
CONV_CASES = [
    _conv("MB-5-multichannel-cin3-cout4", (2, 3, 7, 6), (4, 3, 3, 3)),
    _conv("AV-14-av-layer-nobias", (3, 1, 12, 12), (3, 1, 5, 5), bias=False),
    _conv("MB-3-p1", (2, 2, 6, 6), (3, 2, 3, 3), padding=1),
    _conv("IC-11-p-pair-2x1", (1, 2, 5, 7), (2, 2, 3, 2), padding=(2, 1)),
    _conv("IC-11-pad-larger-than-kernel", (1, 1, 4, 4), (2, 1, 2, 2), padding=3),
    _conv("MB-4-s2", (2, 2, 8, 8), (3, 2, 3, 3), stride=2),
    _conv("IC-10-s3-not-dividing", (1, 2, 10, 9), (2, 2, 3, 2), stride=3),
    _conv("IC-10-s2x1-p1-k3x2", (2, 1, 7, 8), (2, 1, 3, 2), stride=(2, 1), padding=1),
    _conv("MB-7-same-odd", (1, 3, 6, 5), (2, 3, 3, 3), padding="same"),
    _conv("MB-7-same-even-kernel", (1, 2, 6, 7), (2, 2, 4, 2), padding="same"),
    _conv("MB-7-same-dilated", (1, 1, 9, 9), (2, 1, 3, 3), padding="same", dilation=2),
    _conv("MB-7-valid-string", (1, 2, 5, 5), (1, 2, 3, 3), padding="valid"),
    _conv("MB-7-1x1", (2, 4, 5, 5), (3, 4, 1, 1)),
    _conv("dilation-2", (1, 2, 9, 8), (2, 2, 3, 3), dilation=2),
    _conv("dilation-2x3-s2-p2", (2, 1, 11, 12), (2, 1, 2, 3), dilation=(2, 3), stride=2, padding=2),
    _conv("groups-2", (2, 4, 6, 6), (6, 2, 3, 3), groups=2),
    _conv("groups-depthwise", (2, 3, 6, 5), (3, 1, 3, 3), groups=3, padding=1),
    _conv("groups-depthwise-multiplier-2", (1, 2, 5, 5), (4, 1, 2, 2), groups=2, stride=2),
    _conv("kernel-as-large-as-input", (2, 2, 5, 4), (3, 2, 5, 4)),
    _conv("nonsquare-input-kernel", (1, 1, 3, 9), (1, 1, 2, 4)),
    _conv("batch-1-channel-1", (1, 1, 4, 4), (1, 1, 2, 2)),
]


def _pool(id_, shape, **kw):
    return {"id": id_, "x": shape, "kw": kw}


# windows both poolings must get right: strides, padding, ceil_mode, overlap
_SHARED_POOL_CASES = [
    _pool("IC-10-k3x2-s2x1", (1, 2, 7, 5), kernel_size=(3, 2), stride=(2, 1)),
    _pool("ceil-mode", (2, 1, 8, 9), kernel_size=3, stride=2, ceil_mode=True),
    _pool(
        "ceil-mode-window-would-start-in-padding",
        (1, 2, 6, 6),
        kernel_size=2,
        stride=2,
        padding=1,
        ceil_mode=True,
    ),
    _pool("overlap-s1", (1, 1, 9, 9), kernel_size=3, stride=1),
]

MAX_POOL_CASES = [
    _pool("IC-8-k2-default-stride", (2, 3, 6, 6), kernel_size=2),
    *_SHARED_POOL_CASES,
    _pool("pad1-minus-inf", (1, 2, 7, 7), kernel_size=3, stride=2, padding=1),
    # every input below zero: a max pool that pads with 0 instead of −inf returns 0 at the border
    # (random normal inputs rarely show it: a border window must hold only negative values)
    {
        **_pool("pad1-all-negative", (1, 2, 5, 5), kernel_size=3, stride=2, padding=1),
        "negative": True,
    },
    _pool("dilation-2", (1, 2, 10, 9), kernel_size=2, dilation=2, stride=1),
    _pool(
        "dilation-2x1-p1-ceil",
        (2, 1, 11, 10),
        kernel_size=3,
        dilation=(2, 1),
        stride=2,
        padding=1,
        ceil_mode=True,
    ),
    _pool("kernel-as-large-as-input", (1, 1, 5, 4), kernel_size=(5, 4)),
    {**_pool("IC-8-ties-k2", (2, 2, 6, 6), kernel_size=2), "ties": True},
    {
        **_pool("IC-8-plateau-overlapping-p1", (1, 2, 6, 6), kernel_size=3, stride=1, padding=1),
        "ties": True,
    },
]

AVG_POOL_CASES = [
    _pool("IC-9-k2-default-stride", (2, 3, 6, 6), kernel_size=2),
    *_SHARED_POOL_CASES,
    _pool("pad1-count-pad", (1, 2, 7, 7), kernel_size=3, stride=2, padding=1),
    _pool(
        "pad1-no-count-pad",
        (1, 2, 7, 7),
        kernel_size=3,
        stride=2,
        padding=1,
        count_include_pad=False,
    ),
    _pool(
        "ceil-mode-no-count-pad",
        (1, 1, 8, 7),
        kernel_size=3,
        stride=2,
        padding=1,
        ceil_mode=True,
        count_include_pad=False,
    ),
]

LINEAR_CASES = [
    {"id": "AV-5-4inputs-2neurons", "shape": (4, 6, 2)},
    {"id": "AV-av-dense-1728-to-1", "shape": (200, 1728, 1)},
    {"id": "batch-1", "shape": (1, 5, 7)},
    {"id": "more-neurons-than-inputs", "shape": (9, 3, 4)},
]


# (N, C, H, W): training-mode batch norm, weight γ and bias β of shape (C,)
BATCH_NORM_CASES = [
    {"id": "BN-4-channels", "x": (4, 3, 5, 5), "kw": {}},
    {"id": "BN-batch-2-eps-1e-3", "x": (2, 2, 3, 4), "kw": {"eps": 1e-3}},
    {"id": "BN-1x1-spatial", "x": (8, 4, 1, 1), "kw": {}},
]


# ------------------------------------------------------------------ issue 13's operations

# (N, C_in, H, W) or unbatched (C_in, H, W); w (C_in, C_out/groups, kH, kW), torch's layout
CONV_TRANSPOSE_CASES = [
    _conv("IC-7-full-correlation-s1", (2, 3, 5, 4), (3, 2, 3, 3)),
    _conv(
        "IC-10-s2-p1-output-padding-1",
        (1, 2, 4, 4),
        (2, 3, 3, 3),
        stride=2,
        padding=1,
        output_padding=1,
    ),
    _conv("s2x1-p-pair-k3x2", (2, 2, 5, 6), (2, 2, 3, 2), stride=(2, 1), padding=(1, 0)),
    _conv("s3-output-padding-2", (1, 1, 3, 3), (1, 2, 2, 2), stride=3, output_padding=2),
    _conv("groups-2-dilation-2", (1, 4, 5, 5), (4, 1, 3, 3), groups=2, dilation=2),
    _conv("no-bias-1x1", (2, 3, 4, 4), (3, 2, 1, 1), bias=False),
    _conv("unbatched-chw-s2", (3, 4, 4), (3, 2, 3, 3), stride=2),
]

# F.pad: widths (before_last, after_last, before_second_last, after_second_last)
PAD_CASES = [
    {"id": "MB-3-constant-p1", "x": (2, 3, 4, 5), "kw": {"pad": (1, 1, 1, 1)}},
    {
        "id": "constant-value-asymmetric",
        "x": (1, 2, 3, 4),
        "kw": {"pad": (2, 0, 1, 3), "value": 0.5},
    },
    {"id": "constant-negative-crops", "x": (1, 2, 5, 6), "kw": {"pad": (-1, 2, 0, -2)}},
    {"id": "constant-last-axis-only", "x": (2, 3, 4, 5), "kw": {"pad": (2, 1)}},
    {"id": "reflect", "x": (2, 2, 4, 5), "kw": {"pad": (2, 3, 1, 3), "mode": "reflect"}},
    {
        "id": "replicate-wider-than-input",
        "x": (1, 3, 3, 4),
        "kw": {"pad": (5, 1, 2, 4), "mode": "replicate"},
    },
    {"id": "circular", "x": (2, 2, 4, 5), "kw": {"pad": (1, 2, 3, 1), "mode": "circular"}},
    {"id": "reflect-unbatched", "x": (3, 5, 4), "kw": {"pad": (1, 1, 2, 2), "mode": "reflect"}},
]

ADAPTIVE_MAX_POOL_CASES = [
    _pool("MB-8-divides", (2, 3, 8, 8), output_size=4),
    _pool("overlapping-windows-7-to-3", (1, 2, 7, 7), output_size=3),
    _pool("pair-with-None", (1, 2, 6, 5), output_size=(None, 2)),
    _pool("larger-than-input", (1, 1, 3, 4), output_size=(5, 6)),
    _pool("unbatched", (2, 7, 5), output_size=(3, 2)),
    {**_pool("IC-8-ties", (2, 2, 6, 6), output_size=4), "ties": True},
]

# x: the pooled values; indices: one position in each window (windows do not overlap)
MAX_UNPOOL_CASES = [
    _pool("IC-8-k2", (2, 3, 3, 3), kernel_size=2),
    _pool("k3-s3-p1", (1, 2, 3, 3), kernel_size=3, stride=3, padding=1),
    _pool("output-size-given", (1, 2, 3, 3), kernel_size=2, output_size=(7, 7)),
    _pool("k2x3", (1, 1, 3, 2), kernel_size=(2, 3)),
    _pool("unbatched", (2, 3, 3), kernel_size=2),
]

# torch's unbatched (C, H, W) inputs and avg_pool2d's divisor_override, for the kit only (the
# parity suite's per-op tests run the lists above; test_opinfo.py covers these options too)
UNBATCHED_CONV_CASES = [
    _conv("unbatched-chw-p1", (3, 7, 6), (4, 3, 3, 3), padding=1),
    _conv("unbatched-s2-groups-2", (4, 6, 6), (6, 2, 3, 3), stride=2, groups=2),
]
UNBATCHED_MAX_POOL_CASES = [
    _pool("unbatched-chw-p1", (2, 7, 7), kernel_size=3, stride=2, padding=1),
    _pool("unbatched-ceil-mode", (1, 8, 9), kernel_size=3, stride=2, ceil_mode=True),
]
AVG_POOL_EXTRA_CASES = [
    _pool("unbatched-chw", (2, 6, 6), kernel_size=2),
    _pool(
        "divisor-override-3-p1",
        (1, 2, 6, 6),
        kernel_size=3,
        stride=2,
        padding=1,
        divisor_override=3,
    ),
    _pool(
        "divisor-override-unbatched-ceil",
        (2, 7, 7),
        kernel_size=2,
        stride=2,
        ceil_mode=True,
        divisor_override=5,
    ),
]


# ------------------------------------------------------------ the sizes where kernels tile

# For the kit only (kept small enough for the default run): channel counts above 64 that are
# not multiples of 8, 16 or 32; spatial extents above 32 that sit 1 to 15 past a multiple of
# 16; batches above 1, large kernels, stride and dilation together.
TILE_CONV_CASES = [
    _conv("tile-cin-67-cout-70", (2, 67, 6, 7), (70, 67, 3, 3), padding=1),
    _conv("tile-cin-130-1x1", (3, 130, 5, 4), (67, 130, 1, 1)),
    _conv("tile-w-out-49-h-out-35", (2, 3, 37, 51), (5, 3, 3, 3)),
    _conv("tile-h-out-33-w-out-37-p2", (2, 2, 33, 37), (3, 2, 5, 5), padding=2),
    _conv(
        "tile-k7x5-s2-d2-batch-3",
        (3, 5, 41, 38),
        (6, 5, 7, 5),
        stride=2,
        dilation=2,
        padding=3,
    ),
    _conv("tile-groups-3-cin-99", (2, 99, 5, 6), (69, 33, 3, 3), groups=3, padding=1),
]
TILE_CONV_TRANSPOSE_CASES = [
    _conv("tile-cin-67-cout-70", (2, 67, 4, 5), (67, 70, 3, 3), padding=1),
    _conv("tile-s2-out-35x37", (2, 3, 17, 18), (3, 4, 3, 3), stride=2),
    _conv("tile-k5-s3-d2-batch-3", (3, 4, 12, 13), (4, 5, 5, 5), stride=3, dilation=2, padding=2),
]
TILE_POOL_CASES = [
    _pool("tile-c-67-out-35x49", (2, 67, 37, 51), kernel_size=3, stride=1),
    _pool("tile-k5-s2-p2-out-33x34", (3, 5, 66, 67), kernel_size=5, stride=2, padding=2),
    _pool("tile-ceil-s3-out-17x33", (2, 3, 50, 98), kernel_size=4, stride=3, ceil_mode=True),
]
# GoogLeNet's inception branch pools 3×3, stride 1, padding 1, ceil_mode: the output keeps the size
CEIL_S1_POOL_CASES = [
    _pool(
        "googlenet-k3-s1-p1-ceil", (1, 2, 8, 8), kernel_size=3, stride=1, padding=1, ceil_mode=True
    ),
]
TILE_MAX_POOL_CASES = [
    *TILE_POOL_CASES,
    _pool(
        "tile-d2-s2-p1-out-33x35", (2, 3, 67, 71), kernel_size=3, stride=2, padding=1, dilation=2
    ),
]
TILE_LINEAR_CASES = [
    {"id": "tile-in-130-out-67-batch-35", "shape": (35, 130, 67)},
    {"id": "tile-in-97-out-33-batch-3", "shape": (3, 97, 33)},
]
