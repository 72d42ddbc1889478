"""Max and average pooling, forward and backward [MB-8, IC-8, IC-9, IC-10].

Pooling slides an f×f window with stride s over each channel separately and keeps the
maximum (IC-8) or the mean (IC-9); it has no parameters and leaves C unchanged (MB-8).
Semantics are torch's: output size with `ceil_mode` (see `shapes.pool_output_size`),
max-pool padding that never wins (−∞, not 0), `count_include_pad` for the divisor.

Ties in max pooling: the whole gradient goes to the *first* maximum of the window in
row-major order (the lowest flat index), as torch does. IC's code instead sends it to
every tied position; see `ref_cnn.errata`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, pair
from ref_cnn.functional.im2col import pad_nchw, windows
from ref_cnn.functional.shapes import pool_output_size


@dataclass(frozen=True)
class PoolGeometry:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    def padded(self, x: np.ndarray, value: float) -> np.ndarray:
        """Pad p on the top/left and enough on the bottom/right for every window."""
        extra = []
        for a in (0, 1):
            reach = (self.out_hw[a] - 1) * self.stride[a] + self.dilation[a] * (self.kernel[a] - 1)
            extra.append(max(self.padding[a], reach + 1 - self.in_hw[a] - self.padding[a]))
        return pad_nchw(x, ((self.padding[0], extra[0]), (self.padding[1], extra[1])), value=value)

    def view(self, xp: np.ndarray) -> np.ndarray:
        """(N, C, H_out, W_out, kH, kW) view of the windows of a padded input."""
        return windows(xp, self.kernel, self.stride, self.dilation, self.out_hw)


def pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    """Check pooling arguments as torch does and return the geometry."""
    as_float_array(x, "x", ndim=4)
    k = pair(kernel_size, "kernel_size", 1)
    s = k if stride is None else pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    d = pair(dilation, "dilation", 1)
    if not isinstance(ceil_mode, bool | np.bool_):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    for a in (0, 1):
        limit = k[a] // 2  # torch: p ≤ ⌊k/2⌋ (the undilated kernel), max and avg alike
        if p[a] > limit:
            raise ValueError(
                f"pool padding {p} must be at most half the kernel size {k} "
                f"(here at most {limit}), as in torch"
            )
    h, w = x.shape[2:]
    out = tuple(
        pool_output_size(n, k[a], p[a], s[a], d[a], bool(ceil_mode)) for a, n in enumerate((h, w))
    )
    if min(out) < 1:
        raise ValueError(
            f"pool kernel {k} (dilation {d}) is larger than the padded input "
            f"{(h + 2 * p[0], w + 2 * p[1])}; output would be {out}"
        )
    return PoolGeometry(k, s, p, d, (h, w), out)


# ---------------------------------------------------------------- max pooling (IC-8)


def _argmax(x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """Flat window index (m·kW + q) of the first maximum of every window; NaN wins."""
    view = g.view(g.padded(x, -np.inf))  # padding is −∞: it never wins (not 0)
    n, c, ho, wo, kh, kw = view.shape
    return np.argmax(view.reshape(n, c, ho, wo, kh * kw), axis=-1)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> np.ndarray:
    """2-D max pooling [MB-8, IC-8, IC-10], as `torch.nn.functional.max_pool2d`.

    y[n, c, i, j] = max_{m, q} x_pad[n, c, i·s_h + m·d_h, j·s_w + q·d_w], x_pad padded with −∞.

    Args:
        x: (N, C, H, W).
        kernel_size, stride (None → kernel_size), padding (≤ half the effective kernel),
            dilation: int or (int, int).
        ceil_mode: round the output size up; a window that would start in the padding
            is dropped.

    Shape:
        y: (N, C, H_out, W_out), H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1 (MB-8).
    """
    g = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    view = g.view(g.padded(x, -np.inf))
    idx = _argmax(x, g)[..., None]
    n, c, ho, wo, kh, kw = view.shape
    return np.take_along_axis(view.reshape(n, c, ho, wo, kh * kw), idx, axis=-1)[..., 0]


def max_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
) -> np.ndarray:
    """Gradient of `max_pool2d` [IC-8, IC-10]: each dy goes to its window's first maximum.

    Returns dx of x's shape. Where windows overlap (stride < kernel), a position that is the
    maximum of several windows receives the sum of their gradients.
    """
    g = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, (*x.shape[:2], *g.out_hw))
    idx = _argmax(x, g)  # (N, C, H_o, W_o)
    n, c, (ho, wo), kw = x.shape[0], x.shape[1], g.out_hw, g.kernel[1]
    hp, wp = g.padded(x[:1, :1], 0.0).shape[2:]
    m, q = np.divmod(idx, kw)
    rows = np.arange(ho).reshape(1, 1, ho, 1) * g.stride[0] + m * g.dilation[0]
    cols = np.arange(wo).reshape(1, 1, 1, wo) * g.stride[1] + q * g.dilation[1]
    plane = np.arange(n * c).reshape(n, c, 1, 1)
    flat = (plane * hp + rows) * wp + cols  # index into the padded (N·C·Hp·Wp) array
    dxp = np.bincount(flat.ravel(), weights=dy.ravel(), minlength=n * c * hp * wp)
    dxp = dxp.reshape(n, c, hp, wp).astype(x.dtype, copy=False)
    ph, pw = g.padding
    return dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]


# ---------------------------------------------------------------- average pooling (IC-9)


def _divisor(g: PoolGeometry, count_include_pad: bool) -> np.ndarray:
    """(H_out, W_out) divisor of every window, torch's rule.

    The window [start, start + k) is first clipped to the padded input [−p, n + p): its size
    is the divisor with count_include_pad. Without it, the window is clipped to the real
    input [0, n) as well.
    """
    sizes = []
    for a in (0, 1):
        start = np.arange(g.out_hw[a]) * g.stride[a] - g.padding[a]
        end = np.minimum(start + g.kernel[a], g.in_hw[a] + g.padding[a])
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, g.in_hw[a]) - np.maximum(start, 0))
    return np.outer(sizes[0], sizes[1])


def avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> np.ndarray:
    """2-D average pooling [MB-8, IC-9, IC-10], as `torch.nn.functional.avg_pool2d`.

    y[n, c, i, j] = (1/|window|) Σ_{m, q} x_pad[n, c, i·s + m, j·s + q], x_pad padded with 0.

    Args:
        x: (N, C, H, W).
        kernel_size, stride (None → kernel_size), padding (≤ half the kernel): int or pair.
        ceil_mode: round the output size up (the extra windows are clipped to the input).
        count_include_pad: count the zero padding in |window| (torch's default) or not.

    Shape:
        y: (N, C, H_out, W_out), H_out = ⌊(H + 2p − k)/s⌋ + 1 (MB-8).
    """
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    sums = g.view(g.padded(x, 0.0)).sum(axis=(-2, -1))
    return sums / _divisor(g, bool(count_include_pad)).astype(x.dtype)


def avg_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> np.ndarray:
    """Gradient of `avg_pool2d` [IC-9, IC-10]: dy/|window| shared equally over the window."""
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, (*x.shape[:2], *g.out_hw))
    share = dy / _divisor(g, bool(count_include_pad)).astype(x.dtype)
    dxp = np.zeros_like(g.padded(x, 0.0))
    (ho, wo), (sh, sw) = g.out_hw, g.stride
    for m in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            dxp[:, :, m : m + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw] += share
    ph, pw = g.padding
    return dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
