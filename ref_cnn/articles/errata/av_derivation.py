"""Errata where AV's derivation and its code part ways: the bias, the reductions, the word.

Found in the second audit (issue 12). Each demonstration starts from the article's own
state (`av.article_state`: 200 MNIST digits, U[0, 1) parameters, the standardised
forward pass the code runs) and re-implements the article's step next to the correct one.
"""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.articles.av_experiment import initial_params
from ref_cnn.articles.av_network import av_backward, av_forward
from ref_cnn.articles.errata.av import article_state
from ref_cnn.articles.errata.common import Erratum, cosine, relative_error


def zero_mean_start():
    """The article's draws, centred and scaled by 1/√fan_in: a start whose σ(Z2) is not saturated.

    Returns (f, w, b) with f: (3, 1, 5, 5), w: (1728, 1), b: (1,) = 0.
    """
    f, w = initial_params(seed=0)
    return (f - 0.5) / np.sqrt(25), (w - 0.5) / np.sqrt(w.shape[0]), np.zeros(1)


def dense_bias_left_out() -> Erratum:
    """The equations carry a dense bias b; the code never creates, adds or updates one."""
    s = article_state()
    x, y, f, w = s["x"], s["y"], s["f"], s["w"]
    # The code's pipeline (Z2 standardised) with the equations' b put where they put it
    o_b0 = av_forward(x, f, w, np.zeros(1), standardized=True).o
    fwd_b1 = av_forward(x, f, w, np.ones(1), standardized=True)
    _, _, db_code = av_backward(fwd_b1, y, f, w)  # AV-11 through the standardisation
    # The equations' pipeline (no standardisation) from a start that is not saturated
    f0, w0, b0 = zero_mean_start()
    _, dw_eq, db_eq = av_backward(av_forward(x, f0, w0, b0), y, f0, w0)
    return Erratum(
        "AV-code-9",
        "AV",
        "Forward summary step 4 (Z2 = Wᵀ·A + b) against linear.py and weight_update.py",
        "the equations define a bias ('Z = Wᵀ·X + b', 'three parameters … weights, biases and filters', 'Updating the bias matrix follows the same procedure'); the code computes np.dot(wo.T, filter_output_sigmoid) and never creates, adds or updates a b",
        "Z2 = Wᵀ·A1 + b, with ∂E/∂b = Σ_l ∂E/∂Z2_l (AV-11) and b ← b − lr·∂E/∂b (AV-12)",
        "the code's model has no offset. Its standardisation of Z2 hides this: a b added where the equations put it cancels exactly (its gradient is 0), so the code could never learn one; in the equations' model (no standardisation) b is a live parameter",
        {
            "code's pipeline: max |O(b = 1) − O(b = 0)|": float(np.abs(fwd_b1.o - o_b0).max()),
            "code's pipeline: |∂E/∂b|": float(np.abs(db_code).max()),
            "equations' pipeline (zero-mean start): |∂E/∂b|": float(np.abs(db_eq).max()),
            "equations' pipeline: |∂E/∂b| / max |∂E/∂W|": float(
                np.abs(db_eq).max() / np.abs(dw_eq).max()
            ),
        },
        "ref_cnn.articles.errata.av_derivation.dense_bias_left_out",
    )


def reductions_differ_per_path() -> Erratum:
    """The dense gradient is a sum over the images; the filter gradient is an average.

    δ1 is paired with its own image here (AV-code-1 fixed), so only the reduction differs.
    """
    s = article_state()
    x, n = s["x"], s["x"].shape[0]
    dw_code = s["fwd"].a1.T @ s["de_dz2"]  # weight_update.py: np.dot over the images, a sum
    df_sum = F.conv2d_backward(s["delta1"], x, s["f"], need_dx=False)[1]  # AV-14: Σ_l X_l ⋆ δ1_l
    df_code = df_sum / n  # derivative_conv.py: np.average over the images (temp/X.shape[2])
    step_code = np.concatenate([dw_code.ravel(), df_code.ravel()])
    gradient = np.concatenate([s["dw"].ravel(), s["df"].ravel()])  # ∇(Σ_l E_l), both paths

    def filter_share(step):
        return float(np.linalg.norm(step[dw_code.size :]) / np.linalg.norm(step))

    return Erratum(
        "AV-code-10",
        "AV",
        "the loss's reduction: weight_update.py (np.dot) against derivative_conv.py and backprop_convolve.py (np.average, temp/X.shape[2])",
        "the per-image error 'error = np.square(y-output)/2' is never reduced to one number; the dense path sums over the 200 images (the gradient of Σ E), the filter path divides by their number (the gradient of a mean)",
        "one loss, E = Σ_l E_l (or its mean), differentiated on both paths with the same reduction: ∂E/∂W = Σ_l A1_l·δ2_l (AV-10), ∂E/∂f = Σ_l X_l ⋆ δ1_l (AV-14)",
        "with one lr the filters move N = 200 times less, relative to W, than gradient descent on any single loss: the step is not the gradient of anything",
        {
            "cosine(code's (∂W, ∂f) step, ∇E)": cosine(step_code, gradient),
            "share of the step's norm on the filters, code": filter_share(step_code),
            "share of the step's norm on the filters, ∇E": filter_share(gradient),
            "(‖∂W‖/‖∂f‖) code ÷ (‖∂W‖/‖∂f‖) ∇E": float(
                (np.linalg.norm(dw_code) / np.linalg.norm(df_code))
                / (np.linalg.norm(s["dw"]) / np.linalg.norm(s["df"]))
            ),
        },
        "ref_cnn.articles.errata.av_derivation.reductions_differ_per_path",
    )


def article_loop_filter_gradient(x, delta1) -> np.ndarray:
    """backprop_convolve.py's window sum, with δ indexed by filter and paired with its image.

    update[i, j, k] = Σ_l Σ X_l[j : j + 24, k : k + 24] · δ1_l,i: X's windows slide over δ
    unflipped. x: (N, 1, 28, 28), delta1: (N, F, 24, 24) → (F, 1, 5, 5).
    """
    n_f, (h, w) = delta1.shape[1], delta1.shape[2:]
    k_h, k_w = x.shape[2] - h + 1, x.shape[3] - w + 1
    update = np.zeros((n_f, 1, k_h, k_w))
    for i in range(n_f):
        for j in range(k_h):
            for k in range(k_w):
                update[i, 0, j, k] = np.sum(x[:, 0, j : j + h, k : k + w] * delta1[:, i])
    return update


def filter_gradient_is_a_correlation() -> Erratum:
    """'∂Z1/∂f = X', and the chain 'is convolved with ∂Z1/∂f': the gradient is X ⋆ δ1."""
    s = article_state()
    x, d1 = s["x"], s["delta1"]
    n, n_f = d1.shape[:2]
    convolved = np.stack(
        [sum(F.convolve2d(x[l, 0], d1[l, i]) for l in range(n)) for i in range(n_f)]
    )[:, None]  # the word taken literally: δ1 convolved with X (flipped), valid
    loop = article_loop_filter_gradient(x, d1)
    return Erratum(
        "AV-text-2",
        "AV",
        "Backward Propagation: Convolution Layer, 'Change in Z1 with respect to filter f' and the sentence after the chain",
        "'Differentiating Z with respect to X will simply give us X: ∂Z1/∂f = X', and the chain's value 'is convolved with ∂Z1/∂f instead of using a simple dot product'",
        "∂E/∂f = X ⋆ δ1, the valid cross-correlation of the input with δ1 = ∂E/∂Z1, summed over the images (AV-14); the derivative is taken with respect to f (with respect to X it is δ1 fully convolved with f, IC-7)",
        "a reader who convolves as written (scipy.signal.convolve2d: δ1 flipped) gets a wrong gradient; the article's own loop slides X's windows over δ1 unflipped, a correlation, which is right",
        {
            "cosine(Σ_l X_l * δ1_l convolved, correct)": cosine(convolved, s["df"]),
            "relative error, convolved": relative_error(convolved, s["df"]),
            "relative error, the article's window loop": relative_error(loop, s["df"]),
            "shapes of X_l and δ1_l (no dot product)": [list(x.shape[2:]), list(d1.shape[2:])],
        },
        "ref_cnn.articles.errata.av_derivation.filter_gradient_is_a_correlation",
    )


def _error(fn) -> str:
    try:
        return f"no exception: shape {np.shape(fn())}"
    except (IndexError, ValueError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def worked_linear_example_shapes() -> Erratum:
    """The worked Z = Wᵀ·X + b: a 2-vector labelled 'Z_2x2', and Wᵀ's entries indexed as W's."""
    rng = np.random.default_rng(0)
    w, x, b = rng.standard_normal((4, 2)), rng.standard_normal(4), rng.standard_normal(2)
    as_printed = np.ascontiguousarray(w.T)  # a W indexed as printed: W_{rc} at (r, c), 2 × 4
    z = F.linear(x[None], w, b)[0]  # AV-5: Z = Wᵀ·X + b, one sample
    return Erratum(
        "AV-text-3",
        "AV",
        "Fully Connected Layer, the worked linear transformation with 4 features and 2 neurons",
        "W is said to have 'shape (4, 2)', but the matrix written for Wᵀ has entries W_11 … W_14 and W_21 … W_24 (W indexed neuron first, as a 2 × 4 W), and the result is labelled 'Z_2x2'",
        "with W of shape (4, 2), Wᵀ's first row is W_11, W_21, W_31, W_41, and Z = Wᵀ·X + b is a 2-vector (2 × 1), one value per neuron (AV-5)",
        "notation only, but a reader who fills a (4, 2) array from the printed indices reaches W_14, which does not exist; Z has 2 values, not 4",
        {
            "printed entries W_13 … W_24 read from the (4, 2) W": _error(
                lambda: [w[r, c] for r in range(2) for c in range(4)]
            ),
            "Wᵀ·X with the printed 2 × 4 matrix taken as W": _error(lambda: as_printed.T @ x),
            "shape of Z (one sample)": list(z.shape),
        },
        "ref_cnn.articles.errata.av_derivation.worked_linear_example_shapes",
    )


DEMOS = [
    dense_bias_left_out,
    reductions_differ_per_path,
    filter_gradient_is_a_correlation,
    worked_linear_example_shapes,
]

CHECKED_CORRECT = [
    "AV: backprop_convolve.py's window sum X[j:j+24, k:k+24]·δ is a cross-correlation, the right operation for ∂E/∂f (once δ is indexed by filter and paired with its image).",
    "AV: the binary labels (digit > 4) give 91 ones and 109 zeros, which the listed class counts (5: 13, 6: 19, 7: 21, 8: 15, 9: 23) confirm.",
    "AV: f'(x) = (1 + e^(−x))^(−1)·[1 − (1 + e^(−x))^(−1)] is σ(x)(1 − σ(x)); ∂Z2/∂W = A1 and ∂Z2/∂A1 = Wᵀ have the shapes the code uses.",
]
