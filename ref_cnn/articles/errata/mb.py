"""Errata in MB's formulas."""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.articles.errata.common import Erratum


def sum_bounds_run_over_the_image() -> Erratum:
    """MB-5 as printed: Σ_{i=1..n_H} Σ_{j=1..n_W} Σ_k K_{i,j,k}·I_{x+i−1, y+j−1, k}."""
    rng = np.random.default_rng(0)
    image, kernel = (
        rng.standard_normal((6, 6, 3)),
        rng.standard_normal((3, 3, 3)),
    )  # (n_H, n_W, n_C)
    n_h, n_w, n_c = image.shape

    def as_printed(x, y):  # 1-based indices as in the article
        return sum(
            kernel[i - 1, j - 1, k] * image[x + i - 2, y + j - 2, k]
            for i in range(1, n_h + 1)
            for j in range(1, n_w + 1)
            for k in range(n_c)
        )

    try:
        as_printed(1, 1)
        raised = "no exception"
    except IndexError as exc:
        raised = f"IndexError: {exc}"
    f = kernel.shape[0]
    correct = sum(
        kernel[i, j, k] * image[i, j, k] for i in range(f) for j in range(f) for k in range(n_c)
    )
    torch_like = F.conv2d(image.transpose(2, 0, 1)[None], kernel.transpose(2, 0, 1)[None])[
        0, 0, 0, 0
    ]
    return Erratum(
        "MB-formula-1",
        "MB",
        "Convolution product on a volume (MB-5) and the convolutional layer (MB-9)",
        "the sums over i and j run to n_H and n_W, the image's height and width",
        "they run over the filter, i, j = 1..f; only k runs over all n_C channels",
        "read literally, the sum needs kernel entries that do not exist (K is f × f × n_C)",
        {
            "as printed, output (1, 1)": raised,
            "with i, j = 1..f minus conv2d": float(abs(correct - torch_like)),
        },
        "ref_cnn.articles.errata.mb.sum_bounds_run_over_the_image",
    )


def stride_zero_case() -> Erratum:
    """The size formula's second case: n + 2p − f 'for s = 0'."""
    import torch

    sizes = [(n, f, p) for n in range(5, 12) for f in (1, 3, 5) for p in (0, 1, 2)]
    off_by = {n + 2 * p - f - F.conv_output_size(n, f, p, 1) for n, f, p in sizes}
    try:
        torch.nn.functional.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=0)
        raised = "no exception"
    except RuntimeError as exc:
        raised = f"RuntimeError: {str(exc).splitlines()[0]}"
    return Erratum(
        "MB-formula-2",
        "MB",
        "dim(conv(I, K)) and dim(pooling(image)), second case",
        "(n_H + 2p − f, n_W + 2p − f) for s = 0",
        "a stride is ≥ 1 (s = 0 never moves the window); with s = 1 the size is n + 2p − f + 1, which the first case already gives",
        "using the second case for unit stride gives every layer one row and one column too few",
        {"(n + 2p − f) − true size at s = 1": sorted(off_by), "torch with stride 0": raised},
        "ref_cnn.articles.errata.mb.stride_zero_case",
    )


def residual_identity_needs_nonnegative_input() -> Erratum:
    """With w = 0, b = 0 the block outputs ψ(a^[i−2]); that equals a^[i−2] only sometimes."""
    a = np.random.default_rng(1).standard_normal((4, 8))
    after_relu = F.relu(a)
    return Erratum(
        "MB-formula-3",
        "MB",
        "Resnet: a^[i] = ψ(z^[i] + a^[i−2]) with w = 0, b = 0",
        "'with the right choice of ψ' the block passes its input through",
        "z = 0, so a^[i] = ψ(a^[i−2]); this is a^[i−2] for ReLU exactly when a^[i−2] ≥ 0 (true when it is itself a ReLU output), never for sigmoid or tanh",
        "the identity argument holds for ReLU networks whose block inputs are ReLU outputs; not for a signed input or a squashing ψ",
        {
            "ReLU, input ≥ 0: max |a − ψ(a)|": float(np.abs(F.relu(after_relu) - after_relu).max()),
            "ReLU, signed input: max |a − ψ(a)|": float(np.abs(F.relu(a) - a).max()),
            "sigmoid, input ≥ 0: max |a − ψ(a)|": float(
                np.abs(F.sigmoid(after_relu) - after_relu).max()
            ),
        },
        "ref_cnn.articles.errata.mb.residual_identity_needs_nonnegative_input",
    )


def sum_versus_mean_cost() -> Erratum:
    """The text calls the batch loss the sum of the errors; the formula divides by m."""
    rng = np.random.default_rng(2)
    m = 64
    logits, target = rng.standard_normal((m, 10)), rng.integers(0, 10, m)
    g_sum = F.cross_entropy_backward(logits, target, "sum")
    g_mean = F.cross_entropy_backward(logits, target, "mean")
    return Erratum(
        "MB-text-1",
        "MB",
        "Learning algorithm: forward propagation",
        "the loss on a batch is described as 'the sum of the errors' while J(θ) = (1/m)·Σ L",
        "either is a valid cost, but they differ by m; MB-13 (and torch's default reduction) is the mean",
        "the gradient, and so the effective learning rate, changes by a factor of the batch size",
        {"|∂J_sum| / |∂J_mean| for m = 64": float(np.linalg.norm(g_sum) / np.linalg.norm(g_mean))},
        "ref_cnn.articles.errata.mb.sum_versus_mean_cost",
    )


def same_padding_only_for_unit_stride() -> Erratum:
    """'Same convolution: output size = input size → p = (f − 1)/2' with no condition on s."""
    rows = {s: F.conv_output_size(28, 3, 1, s) for s in (1, 2, 3)}
    even = F.conv_output_size(28, 4, 3 // 2, 1)
    return Erratum(
        "MB-text-2",
        "MB",
        "Special types of convolution: same convolution",
        "p = (f − 1)/2 keeps the size",
        "only for stride 1 and odd f; an even f needs asymmetric padding (torch puts the extra row at the bottom)",
        "a 'same' layer with stride 2 halves the size; with f = 4 the formula's p is not an integer",
        {
            "output for n = 28, f = 3, p = 1 and s = 1, 2, 3": list(rows.values()),
            "n = 28, f = 4, p = 1": even,
        },
        "ref_cnn.articles.errata.mb.same_padding_only_for_unit_stride",
    )


DEMOS = [
    sum_bounds_run_over_the_image,
    stride_zero_case,
    residual_identity_needs_nonnegative_input,
    sum_versus_mean_cost,
    same_padding_only_for_unit_stride,
]

CHECKED_CORRECT = [
    "MB: ⌊(n + 2p − f)/s + 1⌋ equals ⌊(n + 2p − f)/s⌋ + 1 (the +1 is an integer), torch's size for s ≥ 1 (MB-6, MB-8).",
    "MB: VEF = [[1, 0, −1]] × 3 and HEF = VEFᵀ respond to vertical and horizontal edges (MB-1).",
    "MB: the parameter count (f·f·n_C^[l−1])·n_C^[l] + n_C^[l] equals torch's Conv2d numel (MB-10).",
    "MB: pooling acts per channel, has no parameters and keeps n_C (MB-8).",
]
