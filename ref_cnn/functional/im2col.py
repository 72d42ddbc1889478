"""Padding and patch extraction (im2col) [AV-3, MB-3].

AV turns each 28×28 image into (28 − 5 + 1)² = 576 patches of 5×5 and multiplies every
patch by the filter; `windows` is that patch view without copying, and `im2col` is the
copied matrix torch's `unfold` returns.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ref_cnn._checks import batched, pair, unbatch
from ref_cnn.functional.shapes import conv_output_size

Padding2 = tuple[tuple[int, int], tuple[int, int]]


def pad_nchw(x: np.ndarray, padding: Padding2, value: float = 0.0, out=None) -> np.ndarray:
    """Pad H and W of an NCHW array [MB-3]: p rows/columns of `value` on each side.

    `padding` is ((top, bottom), (left, right)). Returns `x` itself when there is nothing to
    pad and no `out`; `out`, if given, is the (N, C, H + top + bottom, W + left + right) result
    array (x may then be any strided view, and is copied in even without padding).
    """
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0 and out is None:
        return x
    n, c, h, w = x.shape
    if out is None:
        out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    # the borders, then the interior: one pass (np.pad takes several); empty borders skipped
    if top:
        out[:, :, :top] = value
    if bottom:
        out[:, :, top + h :] = value
    if left:
        out[:, :, top : top + h, :left] = value
    if right:
        out[:, :, top : top + h, left + w :] = value
    out[:, :, top : top + h, left : left + w] = x
    return out


def windows(
    xp: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out: tuple[int, int],
) -> np.ndarray:
    """A read-only strided view of every patch of an already padded NCHW array [AV-3].

    Args:
        xp: (N, C, Hp, Wp), padded input.
        kernel, stride, dilation: (h, w) pairs.
        out: (H_out, W_out), the number of window positions (see `shapes`).

    Returns:
        (N, C, H_out, W_out, kH, kW) view: [n, c, i, j, m, q] = xp[n, c, i·s_h + m·d_h, j·s_w + q·d_w].
    """
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    shape = (n, c, out[0], out[1], kernel[0], kernel[1])
    strides = (sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1])
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Patch matrix of an NCHW batch [AV-3], identical to `torch.nn.functional.unfold`.

    Args:
        x: (N, C, H, W), or one unbatched sample (C, H, W) as torch's unfold takes.
        kernel_size, stride, padding, dilation: int or (int, int).

    Returns:
        (N, C·kH·kW, L) with L = H_out·W_out patches ((C·kH·kW, L) for an unbatched x); rows
        ordered (c, m, q) and columns (i, j) row-major, as torch. For AV's 28×28 image and
        5×5 filter, L = 576.
    """
    x, added = batched(x)
    k = pair(kernel_size, "kernel_size", 1)
    s = pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    d = pair(dilation, "dilation", 1)
    out = tuple(conv_output_size(x.shape[2 + a], k[a], p[a], s[a], d[a]) for a in (0, 1))
    if min(out) < 1:
        raise ValueError(
            f"kernel {k} (dilation {d}) is larger than the padded input "
            f"{(x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1])}: pad the input (padding=...) "
            "or use a smaller kernel"
        )
    view = windows(pad_nchw(x, ((p[0], p[0]), (p[1], p[1]))), k, s, d, out)
    n, c = x.shape[:2]
    # (N, C, H_out, W_out, kH, kW) → (N, C, kH, kW, H_out, W_out) → (N, C·kH·kW, L)
    cols = view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], out[0] * out[1])
    return unbatch(cols, added)
