"""Errata in IC's code ("Code from Scratch": Convolution and MaxPooling)."""

from __future__ import annotations

import numpy as np

from ref_cnn import functional as F
from ref_cnn.articles.errata.common import Erratum, relative_error


def ic_maxpool_backward(x: np.ndarray, dy: np.ndarray, stride: int = 2) -> np.ndarray:
    """IC's MaxPooling.backward re-implemented on (C, H, W): a mask of every maximum."""
    dx = np.zeros_like(x)
    for d in range(x.shape[0]):
        for i in range(dy.shape[1]):
            for j in range(dy.shape[2]):
                window = (
                    d,
                    slice(i * stride, (i + 1) * stride),
                    slice(j * stride, (j + 1) * stride),
                )
                region = x[window]
                dx[window] += dy[d, i, j] * (region == region.max())
    return dx


def maxpool_ties_duplicate_the_gradient() -> Erratum:
    """Ties: every position equal to the window maximum gets the whole gradient."""
    import torch

    rng = np.random.default_rng(0)
    x = F.relu(rng.standard_normal((8, 12, 12)))  # a ReLU output: windows of zeros tie
    dy = rng.standard_normal((8, 6, 6))
    flawed = ic_maxpool_backward(x, dy)
    xt = torch.tensor(x[None], requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 2).backward(torch.tensor(dy[None]))
    reference = xt.grad.numpy()[0]
    ours = F.max_pool2d_backward(dy[None], x[None], 2)[0]
    tied = float(
        np.mean(
            [
                (w == w.max()).sum() > 1
                for w in x.reshape(8, 6, 2, 6, 2).transpose(0, 1, 3, 2, 4).reshape(-1, 4)
            ]
        )
    )
    return Erratum(
        "IC-code-1",
        "IC",
        "MaxPooling.backward: mask = (region == np.max(region))",
        "every position that equals the window maximum receives the full output gradient",
        "the gradient of a maximum goes to one position; torch (and ref_cnn) pick the first maximum in row-major order (IC-8)",
        "harmless for distinct real values, but after a ReLU whole windows are 0 and tie: their gradient is multiplied by up to 4",
        {
            "windows with a tie (ReLU input)": tied,
            "relative error vs torch": relative_error(flawed, reference),
            "Σ flawed gradient / Σ |dy|": float(np.abs(flawed).sum() / np.abs(dy).sum()),
            "ref_cnn vs torch, max |difference|": float(np.abs(ours - reference).max()),
        },
        "ref_cnn.articles.errata.ic.maxpool_ties_duplicate_the_gradient",
    )


def shift_error(conv, x: np.ndarray) -> float:
    """max |shift(conv(x)) − conv(shift(x))| for a shift of one column, on the overlap."""
    shifted = np.zeros_like(x)
    shifted[..., 1:] = x[..., :-1]
    return float(np.abs(conv(shifted)[..., 1:] - conv(x)[..., :-1]).max())


def bias_per_kernel_in_text_per_pixel_in_code() -> Erratum:
    """The text gives each kernel a bias; the code allocates one per output position."""
    rng = np.random.default_rng(0)
    c_in, depth, k, size = 1, 5, 3, 28  # Convolution((1, 28, 28), kernel_size=3, depth=5)
    w = F.he_normal((depth, c_in, k, k), rng)
    x = rng.standard_normal((1, c_in, size, size))
    biases = np.zeros((depth, size - k + 1, size - k + 1))  # np.zeros(self.output_shape)
    dy = rng.standard_normal((1, *biases.shape))
    biases -= 0.1 * F.conv2d_untied_backward(dy, x, w)[2]  # IC-6, IC-13: B ← B − lr·∂E/∂Y
    b = np.zeros(depth) - 0.1 * F.conv2d_backward(dy, x, w)[2]  # one per kernel: Σ over positions
    try:
        F.conv2d_untied(rng.standard_normal((1, c_in, 32, 32)), w, biases)
        other_size = "accepted"
    except ValueError as exc:
        other_size = f"ValueError: {exc}"
    return Erratum(
        "IC-code-2",
        "IC",
        "Convolutional Layer, forward propagation: the text against Convolution.__init__ and backward",
        "the text says 'each kernel will be having a bias' and adds 'the bias of each kernel'; the code allocates self.biases = np.zeros(self.output_shape), one bias per output position, and updates it with the whole output gradient",
        "one bias per kernel, broadcast over the output (IC-4 tied, MB-10, torch's Conv2d): ∂E/∂b_i = Σ_{x,y} ∂E/∂Y_i (IC-6 summed over positions)",
        "d·H_out·W_out parameters instead of d; after one step the bias differs from pixel to pixel, so the layer is no longer translation-equivariant, and it accepts only the input size it was built for",
        {
            "bias parameters, code (depth 5, 26×26 output)": int(biases.size),
            "bias parameters, text (one per kernel)": F.conv_param_count(k, c_in, depth, bias=True)
            - F.conv_param_count(k, c_in, depth, bias=False),
            "after one step: max spread of the bias within a channel": float(
                np.ptp(biases, axis=(1, 2)).max()
            ),
            "shift error after one step, code": shift_error(
                lambda v: F.conv2d_untied(v, w, biases), x
            ),
            "shift error after one step, one bias per kernel": shift_error(
                lambda v: F.conv2d(v, w, b), x
            ),
            "a 32×32 input": other_size,
        },
        "ref_cnn.articles.errata.ic.bias_per_kernel_in_text_per_pixel_in_code",
    )


DEMOS = [maxpool_ties_duplicate_the_gradient, bias_per_kernel_in_text_per_pixel_in_code]

CHECKED_CORRECT = [
    "IC: the kernel gradient correlates the padded input with ∂E/∂Y (IC-5), and the input gradient is the full convolution of ∂E/∂Y with K cropped by the padding (IC-7, IC-11): both equal torch.",
    "IC: the untied bias gradient ∂E/∂B = ∂E/∂Y (IC-6) and He initialisation N(0, 2/fan_in) (IC-12) are right.",
    "IC: MaxPooling's forward with window = stride drops the rows that do not fill a window, as torch's floor mode.",
]
