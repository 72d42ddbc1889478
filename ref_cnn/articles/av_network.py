"""The AV article's network as one pure forward/backward pair [AV-7 … AV-14].

    Z1 = X ⋆ f          (N, 3, 24, 24)     AV-1, no conv bias
    A1 = σ(Z1)                              AV-6
    Z2 = Wᵀ·A1 + b      (N, 1)              AV-5, A1 flattened to 1728 (AV-4)
   [Z2 ← (Z2 − mean)/std over the batch]    optional: the step AV's code adds
    O  = σ(Z2)                              AV-6
    E  = Σ (y′ − O)²/2                      AV-8

This is the article's maths done right (the chain rule through every step, gradients
summed over the images); `ref_cnn.articles.errata` re-implements what its code does instead.
`b` may be None: the article's code has no dense bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ref_cnn.functional.activations import sigmoid, sigmoid_backward
from ref_cnn.functional.conv import conv2d, conv2d_backward
from ref_cnn.functional.linear import linear, linear_backward
from ref_cnn.functional.losses import half_squared_error, half_squared_error_backward
from ref_cnn.functional.reshape import flatten
from ref_cnn.functional.standardize import standardize, standardize_backward


@dataclass
class AVForward:
    """Everything the backward pass needs, named as in the article."""

    x: np.ndarray  # (N, 1, 28, 28)
    z1: np.ndarray  # (N, F, 24, 24)
    a1: np.ndarray  # (N, F·24·24) flattened
    z2: np.ndarray  # (N, 1), before the optional standardisation
    o: np.ndarray  # (N, 1)
    standardized: bool = False


def av_forward(x, f, w, b=None, standardized: bool = False) -> AVForward:
    """Forward summary [AV-7]: Z1 = X ⋆ f, A1 = σ(Z1), Z2 = Wᵀ·A1 + b, O = σ(Z2).

    Args:
        x: (N, 1, H, W) images; f: (F, 1, k, k) filters; w: (F·(H−k+1)·(W−k+1), 1);
        b: (1,) or None; standardized: standardise Z2 over the batch before σ.
    """
    z1 = conv2d(x, f)  # AV-1 / AV-7: Z1 = X ⋆ f
    a1 = flatten(sigmoid(z1))  # AV-6, AV-4: A1 = σ(Z1), 1728 features
    z2 = linear(a1, w, b)  # AV-5: Z2 = Wᵀ·A1 + b
    o = sigmoid(standardize(z2) if standardized else z2)  # O = σ(Z2)
    return AVForward(x, z1, a1, z2, o, standardized)


def av_loss(fwd: AVForward, y) -> np.ndarray:
    """E = Σ (y′ − O)²/2 [AV-8]."""
    return half_squared_error(fwd.o, y)


def av_backward(fwd: AVForward, y, f, w):
    """∂E/∂f, ∂E/∂W, ∂E/∂b by the chain rule [AV-8 … AV-14].

    Returns:
        (df, dw, db) with the shapes of f, w and b.
    """
    de_do = half_squared_error_backward(fwd.o, y)  # AV-8: −(y′ − O)
    de_dz2 = sigmoid_backward(de_do, fwd.o)  # AV-9: · O(1 − O)
    if fwd.standardized:
        de_dz2 = standardize_backward(de_dz2, fwd.z2)
    de_da1, dw, db = linear_backward(de_dz2, fwd.a1, w)  # AV-10, AV-11, AV-13: · Wᵀ
    a1 = fwd.a1.reshape(fwd.z1.shape)
    de_dz1 = sigmoid_backward(de_da1.reshape(fwd.z1.shape), a1)  # AV-13: · A1(1 − A1)
    _, df, _ = conv2d_backward(de_dz1, fwd.x, f, need_dx=False)  # AV-14: X ⋆ δ1, Σ over images
    return df, dw, db
