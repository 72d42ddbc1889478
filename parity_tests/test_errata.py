"""Each erratum's demonstration really shows the flaw (and the correct version is right).

The report's errata section is generated from these same demonstrations.
"""

from __future__ import annotations

import pytest

from ref_cnn.errata import av, ic, mb

eq = pytest.mark.equation


@eq("AV-14")
@pytest.mark.train
def test_av_conv_gradient_errata_change_the_direction():
    for demo in (av.averaged_delta, av.missing_sigmoid_derivative, av.resize_order):
        measured = demo().measured
        assert measured["cosine(flawed ∂E/∂f, correct)"] < 0.9, demo.__name__
        assert measured["relative error"] > 0.5, demo.__name__


@eq("AV-14")
@pytest.mark.train
def test_av_loop_raises_and_ignores_the_filter_index():
    m = av.loop_indexes_delta_by_image().measured
    assert m["exception with 200 images"].startswith("IndexError")
    assert m["max |update_0 − update_1| with 3 images"] == 0.0


@eq("AV-15")
@pytest.mark.train
def test_av_undifferentiated_standardisation_trains_worse():
    m = av.standardization_not_differentiated().measured
    assert m["cosine(flawed ∂E/∂W, correct)"] < 0.9
    assert m["E after 100 steps, flawed"] > 1.5 * m["E after 100 steps, correct"]


@eq("AV-13")
@pytest.mark.train
def test_av_updated_weights_bias_the_filter_gradient():
    assert av.updated_weights_used_for_backprop().measured["relative error of ∂E/∂f"] > 1e-3


@eq("AV-6", "AV-1", "AV-15")
@pytest.mark.train
def test_av_small_errata():
    m = av.sigmoid_overflow().measured
    assert (m["warnings, article form"], m["warnings, ref_cnn"]) == (1, 0)
    m = av.convolution_is_correlation().measured
    assert m["correlation (article's numbers)"] == [[9, 32], [14, 26]] != m["true convolution"]
    m = av.uniform_init_saturates().measured
    assert m["fraction_o_exactly_1"] == 1.0 and m["max_o_times_1_minus_o"] == 0.0


@eq("MB-5", "MB-6", "MB-7", "MB-13")
@pytest.mark.torch
def test_mb_errata():
    m = mb.sum_bounds_run_over_the_image().measured
    assert m["as printed, output (1, 1)"].startswith("IndexError")
    assert m["with i, j = 1..f minus conv2d"] < 1e-12
    m = mb.stride_zero_case().measured
    assert m["(n + 2p − f) − true size at s = 1"] == [-1]
    assert m["torch with stride 0"].startswith("RuntimeError")
    m = mb.residual_identity_needs_nonnegative_input().measured
    assert m["ReLU, input ≥ 0: max |a − ψ(a)|"] == 0.0
    assert (
        m["ReLU, signed input: max |a − ψ(a)|"] > 0 and m["sigmoid, input ≥ 0: max |a − ψ(a)|"] > 0
    )
    assert mb.sum_versus_mean_cost().measured["|∂J_sum| / |∂J_mean| for m = 64"] == pytest.approx(
        64
    )
    m = mb.same_padding_only_for_unit_stride().measured
    assert m["output for n = 28, f = 3, p = 1 and s = 1, 2, 3"] == [28, 14, 10]


@eq("IC-8")
@pytest.mark.torch
def test_ic_maxpool_ties():
    m = ic.maxpool_ties_duplicate_the_gradient().measured
    assert m["windows with a tie (ReLU input)"] > 0
    assert m["relative error vs torch"] > 0.1
    assert m["ref_cnn vs torch, max |difference|"] == 0.0
