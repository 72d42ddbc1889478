"""Loop-for-loop transcriptions of the normalisation family's window sums, the witnesses
that `ref_cnn.functional.local_response_norm` and its backward are tested equal to.

Same arguments and checks as the functional op (`ref_cnn.literal` holds the articles' loops).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import check_gradient
from ref_cnn.functional.local_response_norm import check_lrn


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """NRM-5 as written: y_c = x_c / (k + (α/n)·Σ_{c'} x_{c'}²)^β, c' over the window."""
    x = check_lrn(x, size)
    flat = x.reshape(x.shape[0], x.shape[1], -1)  # (N, C, positions)
    y = np.zeros_like(flat)
    n_all, channels, positions = flat.shape
    for n in range(n_all):
        for c in range(channels):
            for q in range(positions):
                total = 0.0
                for j in range(c - size // 2, c + (size - 1) // 2 + 1):
                    if 0 <= j < channels:  # outside the channels: zero padding
                        total += flat[n, j, q] ** 2
                y[n, c, q] = flat[n, c, q] / (k + alpha / size * total) ** beta
    return y.reshape(x.shape)


def local_response_norm_backward(dy, x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Each output y_c = x_c·s_c^(−β) sends dy_c·s_c^(−β) to x_c and, through s_c,
    dy_c·x_c·(−β)·s_c^(−β−1)·(α/n)·2x_j to every x_j of its window [NRM-5]."""
    x = check_lrn(x, size)
    dy = check_gradient(dy, x)
    flat, dflat = x.reshape(x.shape[0], x.shape[1], -1), dy.reshape(x.shape[0], x.shape[1], -1)
    dx = np.zeros_like(flat)
    n_all, channels, positions = flat.shape
    for n in range(n_all):
        for c in range(channels):
            window = [j for j in range(c - size // 2, c + (size - 1) // 2 + 1) if 0 <= j < channels]
            for q in range(positions):
                s = k + alpha / size * sum(flat[n, j, q] ** 2 for j in window)
                d = dflat[n, c, q]
                dx[n, c, q] += d * s**-beta
                for j in window:
                    dx[n, j, q] += (
                        d
                        * flat[n, c, q]
                        * -beta
                        * s ** (-beta - 1)
                        * alpha
                        / size
                        * 2
                        * flat[n, j, q]
                    )
    return dx.reshape(x.shape)
