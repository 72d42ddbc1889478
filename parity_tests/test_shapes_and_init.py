"""Output sizes, patches, flatten, He initialisation, parameter counts.

[AV-2, AV-3, AV-4, MB-6, MB-7, MB-8, MB-10, IC-1, IC-3, IC-10, IC-11, IC-12]
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn
from ref_cnn import functional as F

torch = optional("torch")
tf = optional("torch.nn.functional")

eq = pytest.mark.equation


@eq("AV-2", "IC-1", "IC-3")
@pytest.mark.torch
def test_valid_and_full_sizes_match_torch_shapes():
    for size, f in itertools.product(range(1, 12), range(1, 6)):
        if f > size:
            continue
        x = torch.zeros(1, 1, size, size)
        assert F.valid_output_size(size, f) == tf.conv2d(x, torch.zeros(1, 1, f, f)).shape[-1]
        full = tf.conv2d(x, torch.zeros(1, 1, f, f), padding=f - 1).shape[-1]
        assert F.full_output_size(size, f) == full
    assert F.valid_output_size(28, 5) == 24  # AV's 28×28 images, 5×5 filters


@eq("MB-6", "IC-10", "IC-11")
@pytest.mark.torch
def test_conv_output_size_matches_torch_for_many_n_f_p_s_d():
    checked = 0
    for size, f, p, s, d in itertools.product(
        range(1, 10), range(1, 5), range(0, 4), range(1, 4), range(1, 3)
    ):
        if d * (f - 1) + 1 > size + 2 * p:
            continue
        shape = tf.conv2d(
            torch.zeros(1, 1, size, size), torch.zeros(1, 1, f, f), stride=s, padding=p, dilation=d
        ).shape
        assert F.conv_output_size(size, f, p, s, d) == shape[-1], (size, f, p, s, d)
        checked += 1
    assert checked > 500


@eq("MB-8", "IC-10")
@pytest.mark.torch
def test_pool_output_size_matches_torch_including_ceil_mode():
    checked = 0
    for size, f, p, s, d, ceil in itertools.product(
        range(1, 11), range(1, 5), range(0, 3), range(1, 4), range(1, 3), (False, True)
    ):
        if p > f // 2 or d * (f - 1) + 1 > size + 2 * p:
            continue
        shape = tf.max_pool2d(torch.zeros(1, 1, size, size), f, s, p, d, ceil_mode=ceil).shape
        assert F.pool_output_size(size, f, p, s, d, ceil) == shape[-1], (size, f, p, s, d, ceil)
        checked += 1
    assert checked > 300


@eq("MB-7")
def test_same_padding_keeps_the_size_and_is_f_minus_1_over_2_for_odd_f():
    for f in (1, 3, 5, 7):
        assert F.same_padding(f) == ((f - 1) // 2, (f - 1) // 2)
    for size, f, d in itertools.product(range(3, 9), range(1, 6), (1, 2)):
        x = np.zeros((1, 1, size, size + 1))
        assert F.conv2d(x, np.zeros((1, 1, f, f)), padding="same", dilation=d).shape == x.shape


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param(dict(kernel_size=5), id="AV-3-28x28-k5-576-patches"),
        pytest.param(
            dict(kernel_size=(3, 2), stride=2, padding=1, dilation=(1, 2)), id="s2-p1-d1x2"
        ),
    ],
)
@eq("AV-3")
@pytest.mark.torch
def test_im2col_matches_torch_unfold(kw, parity):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 28, 28))
    cols = F.im2col(x, **kw)
    parity("cols", cols, n(tf.unfold(t(x), **kw)))
    if kw == dict(kernel_size=5):
        assert cols.shape == (2, 3 * 25, 576)  # (28 − 5 + 1)² = 576 patches of 5×5
        # AV-3: the map is each patch times the filter, summed
        f = rng.standard_normal((1, 3, 5, 5))
        by_patches = (f.reshape(1, -1) @ cols).reshape(2, 1, 24, 24)
        parity("y", by_patches, F.conv2d(x, f), witness="conv2d")


@pytest.mark.torch
def test_im2col_takes_an_unbatched_sample(parity):
    """(C, H, W) in, (C·kH·kW, L) out, as torch's unfold."""
    x = np.random.default_rng(1).standard_normal((3, 9, 8))
    cols = F.im2col(x, kernel_size=3, padding=1)
    assert cols.shape == (27, 72)
    parity("cols", cols, n(tf.unfold(t(x), kernel_size=3, padding=1)))


@eq("AV-4")
@pytest.mark.torch
def test_flatten_matches_torch_and_gives_1728_for_the_av_network(parity):
    a1 = np.random.default_rng(1).standard_normal((200, 3, 24, 24))
    flat = F.flatten(a1)
    assert flat.shape == (200, 1728)  # (28 − 5 + 1)·(28 − 5 + 1)·3
    parity("flat", flat, n(torch.nn.Flatten()(t(a1))))


@eq("IC-12")
@pytest.mark.torch
def test_he_normal_has_variance_2_over_fan_in_like_kaiming_normal():
    shape = (64, 32, 3, 3)  # fan_in = 288
    ours = F.he_normal(shape, np.random.default_rng(2))
    torch.manual_seed(0)
    ref = torch.nn.init.kaiming_normal_(
        torch.empty(shape, dtype=torch.float64), nonlinearity="relu"
    ).numpy()
    target = np.sqrt(2 / 288)
    # 18 432 draws: the sample std is within 4 standard errors (≈ 4·σ/√(2·18432)) of σ
    tol = 4 * target / np.sqrt(2 * ours.size)
    assert abs(ours.std() - target) < tol
    assert abs(ref.std() - target) < tol
    assert abs(ours.mean()) < 4 * target / np.sqrt(ours.size)
    assert ours.shape == shape


@pytest.mark.parametrize(
    ("f", "c_in", "c_out", "bias"),
    [(3, 3, 16, True), (5, 1, 3, False), (1, 64, 32, True), ((3, 2), 4, 6, True)],
    ids=["rgb-3x3-16", "av-5x5-3-nobias", "1x1-64-32", "3x2-4-6"],
)
@eq("MB-10")
@pytest.mark.torch
def test_parameter_count_matches_torch_numel(f, c_in, c_out, bias):
    layer = torch.nn.Conv2d(c_in, c_out, f, bias=bias)
    assert F.conv_param_count(f, c_in, c_out, bias) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("scheme", ["torch", "he"])
def test_layers_declare_their_fan_in(scheme):
    """Linear's weight is (out, in): its fan-in is in_features, not out_features. He on a
    Linear(288, 64) must draw N(0, 2/288); torch's default U(±1/√288)."""
    from ref_cnn.nn import initialise

    layer = ref_cnn.nn.Linear(288, 64)
    conv = ref_cnn.nn.Conv2d(16, 32, 3, groups=4)
    assert (layer.fan_in, conv.fan_in) == (288, 4 * 3 * 3)
    initialise(
        ref_cnn.nn.Sequential(conv, ref_cnn.nn.Flatten(), layer), scheme, np.random.default_rng(0)
    )
    w = layer.params()["weight"]  # 18,432 draws
    if scheme == "he":
        assert abs(w.std() - np.sqrt(2 / 288)) < 4 * np.sqrt(2 / 288) / np.sqrt(2 * w.size)
    else:
        assert np.abs(w).max() <= 1 / np.sqrt(288)
        assert abs(w.std() - 1 / np.sqrt(288) / np.sqrt(3)) < 0.002
