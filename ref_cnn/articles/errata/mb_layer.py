"""Errata in how MB writes a layer: where ψ is applied, and the index of its sums.

Found in the second audit (issue 12). The article writes volumes as (n_H, n_W, n_C) with
1-based indices; the transcriptions below keep its layout and shift every index by one.
"""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.articles.errata.common import Erratum, relative_error


def _volume(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def psi_applied_twice() -> Erratum:
    """MB-9 puts ψ inside conv(a^[l−1], K^(n)) and then applies ψ to conv(…) again."""
    x, w, b = _volume(0, (1, 3, 8, 8)), _volume(1, (4, 3, 3, 3)), _volume(2, (4,))
    z = F.conv2d(x, w, b) * 3  # MB-5 + b_n: pre-activations spread over the sigmoid's range
    measured = {}
    for name, psi in (("ReLU", F.relu), ("sigmoid", F.sigmoid), ("tanh", F.tanh)):
        conv = psi(z)  # conv(a^[l−1], K^(n))_{x,y} = ψ(Σ … + b_n), as printed
        a_printed = psi(conv)  # a^[l] = [ψ(conv(a^[l−1], K^(n)))]_n, as printed
        measured[f"{name}: max |ψ(ψ(z)) − ψ(z)|"] = float(np.abs(a_printed - conv).max())
    double = F.sigmoid(F.sigmoid(z))
    measured["sigmoid twice: range of a^[l]"] = [float(double.min()), float(double.max())]
    return Erratum(
        "MB-formula-4",
        "MB",
        "Convolutional layer (MB-9): conv(a^[l−1], K^(n)) and a^[l]",
        "ψ is applied twice: 'conv(a^[l−1], K^(n))_{x,y} = ψ^[l](Σ … + b_n^[l])' and then 'a^[l] = [ψ^[l](conv(a^[l−1], K^(1))), …]'",
        "ψ once: a^[l] = [ψ(conv(a^[l−1], K^(n)) + b_n)]_n, conv being the bare sum (MB-5, MB-9; torch's Conv2d then the activation)",
        "harmless for ReLU (ψ∘ψ = ψ), wrong for any other ψ: a sigmoid layer's outputs are squeezed into (0.5, 0.73)",
        measured,
        "ref_cnn.articles.errata.mb_layer.psi_applied_twice",
    )


def mb_output_size(n: int, f: int, p: int, s: int) -> int:
    """The article's size formula, ⌊(n + 2p − f)/s + 1⌋ (MB-6)."""
    return int(np.floor((n + 2 * p - f) / s + 1))


def conv_as_printed(image, kernel, s: int, p: int) -> np.ndarray:
    """MB-5 with i, j = 1..f: conv(I, K)_{x,y} = Σ K_{i,j,k}·I_{x+i−1, y+j−1, k}, s and p unused.

    image: (n_H, n_W, n_C), kernel: (f, f, n_C) → (n_out, n_out) from the size formula.
    """
    f, n_out = kernel.shape[0], mb_output_size(image.shape[0], kernel.shape[0], p, s)
    out = np.zeros((n_out, n_out))
    for x in range(n_out):
        for y in range(n_out):
            window = image[x : x + f, y : y + f]  # I_{x+i−1, y+j−1, k}, i, j = 1..f
            if window.shape != kernel.shape:  # NumPy would clip the slice; the sum cannot
                raise IndexError(f"I_(x+i−1, y+j−1) leaves the {image.shape[0]}-pixel image")
            out[x, y] = np.sum(kernel * window)
    return out


def conv_with_stride_and_padding(image, kernel, s: int, p: int) -> np.ndarray:
    """The corrected index: conv(I, K)_{x,y} = Σ K_{i,j,k}·I^pad_{s(x−1)+i, s(y−1)+j, k}."""
    f, n_out = kernel.shape[0], mb_output_size(image.shape[0], kernel.shape[0], p, s)
    padded = np.pad(image, ((p, p), (p, p), (0, 0)))  # MB-3: p zeros on each side
    out = np.zeros((n_out, n_out))
    for x in range(n_out):
        for y in range(n_out):
            out[x, y] = np.sum(kernel * padded[s * x : s * x + f, s * y : s * y + f])
    return out


def _as_nchw(volume) -> np.ndarray:
    return np.ascontiguousarray(volume.transpose(2, 0, 1)[None])  # (n_H, n_W, n_C) → NCHW


def conv_index_ignores_stride_and_padding() -> Erratum:
    """The index x + i − 1 of MB-5 / MB-9 has no s and no p, though the size formula has both."""
    image, kernel = _volume(3, (7, 7, 3)), _volume(4, (3, 3, 3))
    reference = F.conv2d(_as_nchw(image), _as_nchw(kernel), stride=2)[0, 0]
    try:
        conv_as_printed(image, kernel, s=1, p=1)
        padded = "no exception"
    except IndexError as exc:
        padded = f"IndexError: {exc}"
    return Erratum(
        "MB-formula-5",
        "MB",
        "Convolution product on a volume (MB-5) and the convolutional layer (MB-9): the index",
        "'conv(I, K)_{x,y} = Σ K_{i,j,k} I_{x+i−1, y+j−1, k}' steps the window one pixel per output whatever s is, and indexes I, not the padded image, while the size formula beside it uses s and p",
        "conv(I, K)_{x,y} = Σ_{i,j=1..f} Σ_k K_{i,j,k}·I^pad_{s(x−1)+i, s(y−1)+j, k}, I^pad the image with p zeros on each side (MB-3, MB-4, MB-6)",
        "with s > 1 the output is the top-left corner of the stride-1 result; with p > 0 the last windows run off the image",
        {
            "s = 2, p = 0 (7×7, f = 3): relative error vs conv2d": relative_error(
                conv_as_printed(image, kernel, s=2, p=0), reference
            ),
            "s = 1, p = 1 on the image": padded,
            "corrected index, s = 2: relative error vs conv2d": relative_error(
                conv_with_stride_and_padding(image, kernel, s=2, p=0), reference
            ),
            "corrected index, s = 2, p = 1: relative error vs conv2d": relative_error(
                conv_with_stride_and_padding(image, kernel, s=2, p=1),
                F.conv2d(_as_nchw(image), _as_nchw(kernel), stride=2, padding=1)[0, 0],
            ),
        },
        "ref_cnn.articles.errata.mb_layer.conv_index_ignores_stride_and_padding",
    )


def pool_as_printed(a, f: int, s: int) -> np.ndarray:
    """MB-8 as printed: a_{x,y,z} = max((a_{x+i−1, y+j−1, z})_{i,j=1..f}), s only in the size.

    a: (n_H, n_W, n_C) → (n_out, n_out, n_C).
    """
    n_out = mb_output_size(a.shape[0], f, 0, s)
    out = np.zeros((n_out, n_out, a.shape[2]))
    for x in range(n_out):
        for y in range(n_out):
            out[x, y] = a[x : x + f, y : y + f].max(axis=(0, 1))
    return out


def pool_with_stride(a, f: int, s: int) -> np.ndarray:
    """The corrected index: a_{x,y,z} = max((a_{s(x−1)+i, s(y−1)+j, z})_{i,j=1..f})."""
    n_out = mb_output_size(a.shape[0], f, 0, s)
    out = np.zeros((n_out, n_out, a.shape[2]))
    for x in range(n_out):
        for y in range(n_out):
            out[x, y] = a[s * x : s * x + f, s * y : s * y + f].max(axis=(0, 1))
    return out


def pool_index_ignores_stride() -> Erratum:
    """MB-8's pooling index x + i − 1 has no s: at the usual f = s = 2 the windows overlap."""
    a = _volume(5, (8, 8, 3))
    printed = pool_as_printed(a, f=2, s=2)
    reference = F.max_pool2d(_as_nchw(a), 2, 2)[0].transpose(1, 2, 0)
    read = np.zeros(a.shape[:2], dtype=bool)  # the pixels some printed window touches
    for x in range(printed.shape[0]):
        for y in range(printed.shape[1]):
            read[x : x + 2, y : y + 2] = True
    return Erratum(
        "MB-formula-6",
        "MB",
        "Pooling layer (MB-8): a_{x,y,z} = φ((a_{x+i−1, y+j−1, z})_{(i,j) ∈ [1..f]²})",
        "the window of output (x, y) starts at (x, y): it moves one pixel per output whatever the stride, though the text says 'we usually set f=2 and consider s=2' and the size formula divides by s",
        "a_{x,y,z} = φ((a^pad_{s(x−1)+i, s(y−1)+j, z})_{(i,j) ∈ [1..f]²}) (MB-4, MB-8; torch's max_pool2d)",
        "at f = s = 2 the windows overlap and cover only the top-left corner: most of the input never reaches the output",
        {
            "f = s = 2 on 8×8: fraction of outputs ≠ max_pool2d": float(
                np.mean(printed != reference)
            ),
            "fraction of the input never read": float(1 - read.mean()),
            "corrected index vs max_pool2d, max |difference|": float(
                np.abs(pool_with_stride(a, 2, 2) - reference).max()
            ),
        },
        "ref_cnn.articles.errata.mb_layer.pool_index_ignores_stride",
    )


DEMOS = [psi_applied_twice, conv_index_ignores_stride_and_padding, pool_index_ignores_stride]

CHECKED_CORRECT = [
    "MB: the fully connected layer z_j = Σ_l w_{j,l}·a_l + b_j, a_j = ψ(z_j) applies ψ once, and the flatten size n_H·n_W·n_C is torch's Flatten (MB-11).",
    "MB: the projection shortcut a^[i] = ψ(z^[i] + W_s·a^[i−2]) with dim(W_s) = [n^[i], n^[i−2]] maps a^[i−2] to z^[i]'s size (MB-17).",
    "MB: 'the filter/kernel K must have the same number of channels as the image' and dim(filter) = (f, f, n_C) are torch's weight shape (C_out, C_in, f, f) per output channel (MB-5).",
]
