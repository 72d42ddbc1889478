"""AV's experiment on real MNIST digits: the whole training run equals torch's, step by
step, in float64 [AV-15, AV-12]."""

from __future__ import annotations

import numpy as np
import pytest

from ref_cnn.articles import av_experiment as ex
from ref_cnn.training import data

eq = pytest.mark.equation
STEPS = 100


@pytest.fixture(scope="module")
def av_data():
    return data.av_binary(200, seed=0)


@eq("AV-15")
@pytest.mark.train
def test_data_is_200_real_digits_with_the_binary_label(av_data):
    x, y = av_data
    assert x.shape == (200, 1, 28, 28) and y.shape == (200, 1)
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == {0.0, 1.0}
    full = data.mnist_subset(seed=0)
    np.testing.assert_array_equal(y[:, 0], (full.y[:200] > 4).astype(float))


@eq("AV-15")
@pytest.mark.train
def test_article_initialisation_saturates_the_output_sigmoid_in_float64(av_data):
    """U[0, 1) filters and weights: Z2 ≈ 400, σ(Z2) == 1.0 exactly, all gradients 0."""
    x, y = av_data
    f, w = ex.initial_params(seed=0)
    info = ex.output_saturation(x, f, w)
    assert info["min_z2"] > 37  # σ(z) rounds to 1.0 in float64 once e^(−z) < 2^(−53)
    assert info["fraction_o_exactly_1"] == 1.0
    assert info["max_o_times_1_minus_o"] == 0.0


@pytest.mark.parametrize("setting", ["article", "standardized"])
@eq("AV-15", "AV-12")
@pytest.mark.train
@pytest.mark.torch
def test_training_trajectory_equals_torch(av_data, setting, parity):
    x, y = av_data
    f, w = ex.initial_params(seed=0)
    std = ex.SETTINGS[setting]
    ours = ex.train_numpy(x, y, f, w, STEPS, ex.DEFAULT_LR[setting], std)
    ref = ex.train_torch(x, y, f, w, STEPS, ex.DEFAULT_LR[setting], std)
    parity("loss at every step", np.array(ours.losses), np.array(ref.losses), rtol=1e-9)
    parity("filters after 100 steps", ours.f, ref.f, rtol=1e-9)
    parity("W after 100 steps", ours.w, ref.w, rtol=1e-9)
    if setting == "article":  # nothing moves: the saturated sigmoid has zero gradient
        assert ours.losses[0] == ours.losses[-1] == 0.5 * float(np.sum(y == 0))
        assert max(ours.grad_norms) == 0.0
        np.testing.assert_array_equal(ours.w, w)
    else:  # the run really learns, so the parity above means something
        assert ours.losses[-1] < 0.7 * ours.losses[0]
        assert min(ours.grad_norms) > 0
        assert ours.accuracy > 0.9
