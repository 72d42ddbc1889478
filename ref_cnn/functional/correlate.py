"""Single-channel 2-D cross-correlation and convolution [AV-1, MB-2, IC-1, IC-2, IC-3].

These are the building blocks the articles start from, with `scipy.signal`'s signature and
its three modes. The vectorised form loops over the f_h·f_w kernel offsets only; the
literal per-pixel sum lives in `ref_cnn.literal.correlate2d`.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import check_mode

MODES = ("valid", "same", "full")


def _as_2d(a, name: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray, got {type(a).__name__}: convert it with "
            f"np.asarray({name}, dtype=np.float64)"
        )
    if a.dtype.kind not in "iufb":
        raise TypeError(
            f"{name} must be numeric, got dtype {a.dtype}: cast it with {name}.astype(np.float64)"
        )
    if a.ndim != 2:
        fix = (
            f"{name}[0, 0] takes one channel of one image"
            if a.ndim == 4
            else f"{name}.squeeze() drops axes of size 1"
        )
        raise ValueError(
            f"{name} must be 2-D (H, W), got {a.ndim}-D with shape {a.shape}: for images "
            f"(N, C, H, W) use conv2d; {fix}"
        )
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    return a


def _valid_correlate(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Z[i, j] = Σ_m Σ_n a[i+m, j+n]·k[m, n], needs a at least as large as k."""
    kh, kw = k.shape
    ho, wo = a.shape[0] - kh + 1, a.shape[1] - kw + 1  # AV-2: n − f + 1
    out = np.zeros((ho, wo), dtype=np.result_type(a, k))
    for m in range(kh):
        for n in range(kw):
            out += a[m : m + ho, n : n + wo] * k[m, n]  # AV-1: X[i+m, j+n]·f[m, n]
    return out


def convolve2d(a: np.ndarray, k: np.ndarray, mode: str = "valid") -> np.ndarray:
    """True 2-D convolution [IC-2, IC-3]: a * k = a ⋆ rot180(k), as `scipy.signal.convolve2d`.

    Args:
        a: (H, W) input.
        k: (kH, kW) kernel.
        mode: "valid" → (H − kH + 1, W − kW + 1); "full" → (H + kH − 1, W + kW − 1)
            (IC-3: output starts as soon as kernel and input overlap); "same" → (H, W),
            the centre of the full output.

    In valid mode convolution is commutative, so when k is the larger array in both
    dimensions the two are swapped, as scipy does.
    """
    _as_2d(a, "a")
    _as_2d(k, "k")
    check_mode(mode, MODES)
    if mode == "valid":
        a_fits = a.shape[0] >= k.shape[0] and a.shape[1] >= k.shape[1]
        k_fits = k.shape[0] >= a.shape[0] and k.shape[1] >= a.shape[1]
        if not (a_fits or k_fits):
            raise ValueError(
                f"valid mode needs one array at least as large as the other in every "
                f"dimension, got a {a.shape} and k {k.shape}"
            )
        if not a_fits:
            a, k = k, a
        return _valid_correlate(a, k[::-1, ::-1])  # IC-2: a * k = a ⋆ rot180(k)
    return _padded_correlate(
        a, k[::-1, ::-1], mode, centre=((k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2)
    )


def _padded_correlate(a, k, mode: str, centre: tuple[int, int]) -> np.ndarray:
    """Full correlation (IC-3: zero border of k − 1), or its (H, W) window at `centre`."""
    kh, kw = k.shape
    full = _valid_correlate(np.pad(a, ((kh - 1, kh - 1), (kw - 1, kw - 1))), k)
    if mode == "full":
        return full
    top, left = centre  # scipy centres "same" differently for correlation and convolution
    return full[top : top + a.shape[0], left : left + a.shape[1]]


def correlate2d(a: np.ndarray, k: np.ndarray, mode: str = "valid") -> np.ndarray:
    """2-D cross-correlation [AV-1, MB-2, IC-1, IC-3], as `scipy.signal.correlate2d`.

    Z[i, j] = Σ_m Σ_n a[i+m, j+n]·k[m, n]  (what the articles call "convolution").

    Args:
        a: (H, W) input.
        k: (kH, kW) kernel.
        mode: "valid" (IC-1, size n − k + 1), "same" (size of a) or "full" (IC-3, n + k − 1).

    Example (AV-1, the article's worked example):
        >>> correlate2d(np.array([[1, 7, 2], [11, 1, 23], [2, 2, 2]]), np.array([[1, 1], [0, 1]]))
        array([[ 9, 32],
               [14, 26]])

    Notes:
        AV calls this operation convolution and writes it z = x * f; what the article
        computes, and what CNN libraries compute, is correlation: `convolve2d` with the
        kernel rotated by 180°.
    """
    _as_2d(k, "k")
    if mode != "same":
        return convolve2d(a, k[::-1, ::-1], mode)  # IC-2 read backwards: a ⋆ k = a * rot180(k)
    _as_2d(a, "a")
    return _padded_correlate(a, k, mode, centre=(k.shape[0] // 2, k.shape[1] // 2))
