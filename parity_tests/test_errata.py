"""Each erratum's demonstration really shows the flaw (and the correct version is right).

The report's errata section is generated from these same demonstrations.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import functional as F
from ref_cnn.articles.av_network import av_backward, av_forward
from ref_cnn.articles.errata import av, av_derivation, ic, mb, mb_layer

torch = optional("torch")
tf = optional("torch.nn.functional")

eq = pytest.mark.equation


def _torch_av_grads(x, y, f, w, b, standardized):
    """AV's chain in torch autograd: (∂E/∂f, ∂E/∂W, ∂E/∂b), Z2 optionally standardised."""
    ft, wt, bt = t(f, True), t(w, True), t(b, True)
    z2 = torch.sigmoid(tf.conv2d(t(x), ft)).flatten(1) @ wt + bt
    if standardized:
        z2 = (z2 - z2.mean()) / z2.std(correction=0)
    e = 0.5 * torch.sum((t(y) - torch.sigmoid(z2)) ** 2)
    e.backward()
    return n(ft.grad), n(wt.grad), n(bt.grad)


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


@eq("AV-5", "AV-11")
@pytest.mark.train
def test_av_dense_bias_is_in_the_equations_and_dead_in_the_code(parity):
    m = av_derivation.dense_bias_left_out().measured
    assert m["code's pipeline: max |O(b = 1) − O(b = 0)|"] < 1e-14
    assert m["code's pipeline: |∂E/∂b|"] < 1e-12
    assert m["equations' pipeline: |∂E/∂b| / max |∂E/∂W|"] > 0.1
    s = av.article_state()
    f, w, b = av_derivation.zero_mean_start()
    _, _, db = av_backward(av_forward(s["x"], f, w, b), s["y"], f, w)
    parity("∂E/∂b, equations' model", db, _torch_av_grads(s["x"], s["y"], f, w, b, False)[2])
    assert m["equations' pipeline (zero-mean start): |∂E/∂b|"] == pytest.approx(abs(db[0]))


@eq("AV-10", "AV-14")
@pytest.mark.train
def test_av_paths_reduce_the_loss_differently(parity):
    m = av_derivation.reductions_differ_per_path().measured
    assert m["(‖∂W‖/‖∂f‖) code ÷ (‖∂W‖/‖∂f‖) ∇E"] == pytest.approx(200)
    assert m["share of the step's norm on the filters, code"] < 0.01
    assert m["share of the step's norm on the filters, ∇E"] > 0.1
    assert m["cosine(code's (∂W, ∂f) step, ∇E)"] < 0.95
    s = av.article_state()  # ∇E, both paths summed, is torch's gradient of Σ E
    df, dw, _ = _torch_av_grads(s["x"], s["y"], s["f"], s["w"], np.zeros(1), True)
    parity("∂E/∂f, standardised chain", s["df"], df)
    parity("∂E/∂W, standardised chain", s["dw"], dw)


@eq("AV-14")
@pytest.mark.train
def test_av_filter_gradient_is_a_correlation_not_a_convolution(parity):
    m = av_derivation.filter_gradient_is_a_correlation().measured
    assert m["cosine(Σ_l X_l * δ1_l convolved, correct)"] < 0.5
    assert m["relative error, convolved"] > 1
    s = av.article_state()
    reference = n(torch.nn.grad.conv2d_weight(t(s["x"]), s["f"].shape, t(s["delta1"])))
    parity("∂E/∂f = X ⋆ δ1", s["df"], reference, witness="torch.nn.grad")
    loop = av_derivation.article_loop_filter_gradient(s["x"], s["delta1"])
    parity("the article's window loop", loop, reference, witness="torch.nn.grad")


@pytest.mark.parametrize("psi", ["relu", "sigmoid", "tanh"])
@eq("MB-9")
@pytest.mark.torch
def test_mb_layer_applies_psi_once(psi, parity):
    m = mb_layer.psi_applied_twice().measured
    name = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}[psi]
    if psi == "relu":
        assert m["ReLU: max |ψ(ψ(z)) − ψ(z)|"] == 0.0  # idempotent: the slip is invisible
    else:
        assert m[f"{name}: max |ψ(ψ(z)) − ψ(z)|"] > 0.2
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    ours = getattr(F, psi)(F.conv2d(x, w, b))  # ψ once, after the bias
    parity(f"{psi}(conv2d + b)", ours, n(getattr(torch, psi)(tf.conv2d(t(x), t(w), t(b)))))


@pytest.mark.parametrize(
    "s, p", [(1, 0), (2, 0), (2, 1), (3, 2)], ids=["s1-p0", "s2-p0", "s2-p1", "s3-p2"]
)
@eq("MB-5", "MB-6")
@pytest.mark.torch
def test_mb_conv_index_needs_stride_and_padding(s, p, parity):
    m = mb_layer.conv_index_ignores_stride_and_padding().measured
    assert m["s = 2, p = 0 (7×7, f = 3): relative error vs conv2d"] > 0.5
    assert m["s = 1, p = 1 on the image"].startswith("IndexError")
    rng = np.random.default_rng(s + 10 * p)
    image, kernel = rng.standard_normal((9, 9, 2)), rng.standard_normal((3, 3, 2))
    ours = mb_layer.conv_with_stride_and_padding(image, kernel, s, p)
    x, k = (t(a.transpose(2, 0, 1)[None]) for a in (image, kernel))
    parity(f"MB-5 index s={s} p={p}", ours, n(tf.conv2d(x, k, stride=s, padding=p))[0, 0])


@eq("MB-8")
@pytest.mark.torch
def test_mb_pool_index_needs_stride(parity):
    m = mb_layer.pool_index_ignores_stride().measured
    assert m["f = s = 2 on 8×8: fraction of outputs ≠ max_pool2d"] > 0.5
    assert m["fraction of the input never read"] > 0.5
    a = np.random.default_rng(1).standard_normal((9, 9, 3))  # 9: the last row fills no window
    for f, s in ((2, 2), (3, 2), (2, 1)):
        ours = mb_layer.pool_with_stride(a, f, s).transpose(2, 0, 1)[None]
        parity(
            f"MB-8 index f={f} s={s}", ours, n(tf.max_pool2d(t(a.transpose(2, 0, 1)[None]), f, s))
        )


@eq("IC-4", "IC-6", "MB-10")
@pytest.mark.torch
def test_ic_bias_one_per_kernel_in_the_text_one_per_pixel_in_the_code(parity):
    m = ic.bias_per_kernel_in_text_per_pixel_in_code().measured
    assert m["bias parameters, code (depth 5, 26×26 output)"] == 5 * 26 * 26
    assert m["bias parameters, text (one per kernel)"] == 5
    assert m["after one step: max spread of the bias within a channel"] > 0.1
    assert m["shift error after one step, code"] > 0.1
    assert m["shift error after one step, one bias per kernel"] < 1e-12
    assert m["a 32×32 input"].startswith("ValueError")
    rng = np.random.default_rng(3)  # one bias per kernel: torch's Conv2d and its gradient
    x, w, b = rng.standard_normal((2, 1, 28, 28)), rng.standard_normal((5, 1, 3, 3)), np.ones(5)
    dy = rng.standard_normal((2, 5, 26, 26))
    conv = torch.nn.Conv2d(1, 5, 3).double()
    assert conv.bias.numel() == m["bias parameters, text (one per kernel)"]
    bt = t(b, True)
    tf.conv2d(t(x), t(w), bt).backward(t(dy))
    parity("∂E/∂b, one per kernel", F.conv2d_backward(dy, x, w)[2], n(bt.grad))


def test_the_registry_runs_every_demonstration_once():
    from ref_cnn.articles.errata import registry

    names = [f"{d.__module__}.{d.__name__}" for d in registry.DEMOS]
    assert len(set(names)) == len(names) >= 20


@eq("AV-5")
@pytest.mark.torch
def test_av_worked_linear_example_is_a_2_vector(parity):
    m = av_derivation.worked_linear_example_shapes().measured
    assert m["printed entries W_13 … W_24 read from the (4, 2) W"].startswith("IndexError")
    assert m["Wᵀ·X with the printed 2 × 4 matrix taken as W"].startswith("ValueError")
    assert m["shape of Z (one sample)"] == [2]
    rng = np.random.default_rng(0)
    w, x, b = rng.standard_normal((4, 2)), rng.standard_normal((3, 4)), rng.standard_normal(2)
    parity("Z = Wᵀ·X + b", F.linear(x, w, b), n(tf.linear(t(x), t(w.T), t(b))))
