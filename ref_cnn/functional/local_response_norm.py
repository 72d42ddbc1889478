"""Local response normalisation across channels [NRM-5], as torch's `F.local_response_norm`.

Each value is divided by a power of the mean of the squares in a window of `size`
neighbouring channels (Krizhevsky et al. 2012, in torch's form: the window is zero-padded
at the first and last channels and the sum is always divided by `size`):

    s_c = k + (α/n)·Σ_{c' = c − ⌊n/2⌋}^{c + ⌊(n − 1)/2⌋} x_{c'}²,   y_c = x_c / s_c^β

Backward: each x_j enters its own quotient and the windows of the channels c whose
window holds j (c from j − ⌊(n − 1)/2⌋ to j + ⌊n/2⌋, the window reversed):

    ∂E/∂x_j = dy_j·s_j^(−β) − (2αβ/n)·x_j·Σ_{c ∋ j} dy_c·x_c·s_c^(−β−1)

`ref_cnn.literal.normalization.local_response_norm` is the loop over the window sum.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ref_cnn._checks import as_float_array, check_gradient, check_positive_int


def check_lrn(x, size) -> np.ndarray:
    """x (N, C, *) with at least one position axis, size a positive int, as torch."""
    x = as_float_array(x, "x")
    if x.ndim < 3:
        raise ValueError(
            f"local_response_norm needs x of 3 or more axes (N, C, *), got shape {x.shape}; "
            "add a position axis, e.g. x[..., None]"
        )
    check_positive_int(size, "size")  # the channels in the window
    return x


def window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """Σ of a over the channel window [c − before, c + after], zero-padded: (N, C, *)."""
    pad = [(0, 0), (before, after)] + [(0, 0)] * (a.ndim - 2)
    windows = sliding_window_view(np.pad(a, pad), before + after + 1, axis=1)  # (N, C, *, n)
    return windows.sum(axis=-1)


def _denominator_base(x, size, alpha, k):
    """s = k + (α/n)·Σ_window x² [NRM-5]."""
    return k + alpha / size * window_sum(x * x, size // 2, (size - 1) // 2)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0) -> np.ndarray:
    """Local response normalisation, as `torch.nn.functional.local_response_norm`.

    NRM-5: y_c = x_c / (k + (α/n)·Σ_{c'} x_{c'}²)^β, c' over the `size` = n channels from
    c − ⌊n/2⌋ to c + ⌊(n − 1)/2⌋ (channels outside 0…C−1 count as 0).

    Args:
        x: (N, C, *), e.g. (N, C, H, W) or (N, C, L).
        size: n, the channels in the window.
        alpha, beta, k: α, β, k above.

    Shape:
        y: x's shape.
    """
    x = check_lrn(x, size)
    if x.size == 0:
        return x.copy()
    s = _denominator_base(x, size, alpha, k)  # NRM-5: s = k + (α/n)·Σ x²
    return (x / s**beta).astype(x.dtype, copy=False)  # y = x/s^β


def local_response_norm_backward(dy, x, size, alpha=1e-4, beta=0.75, k=1.0) -> np.ndarray:
    """∂E/∂x of `local_response_norm` [NRM-5].

    ∂E/∂x_j = dy_j·s_j^(−β) − (2αβ/n)·x_j·Σ_{c: j in c's window} dy_c·x_c·s_c^(−β−1).

    Shape:
        dx: x's shape.
    """
    x = check_lrn(x, size)
    dy = check_gradient(dy, x)
    if x.size == 0:
        return np.zeros_like(x)
    s = _denominator_base(x, size, alpha, k)
    through_s = window_sum(dy * x * s ** (-beta - 1), (size - 1) // 2, size // 2)  # Σ_{c ∋ j}
    dx = dy * s ** (-beta) - 2 * alpha * beta / size * x * through_s  # NRM-5
    return dx.astype(x.dtype, copy=False)
