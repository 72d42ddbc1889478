"""Multi-channel 2-D convolution layer, forward and backward.

[MB-3, MB-4, MB-5, MB-6, MB-7, MB-9, IC-4, IC-5, IC-6, IC-7, IC-10, IC-11, AV-14]

Forward (IC-4, MB-5), for output channel i of group g:

    Y_i = B_i + Σ_j X_j ⋆ K_ij        (j over the C_in/groups input channels of group g)

Backward, with δ = ∂E/∂Y:

    ∂E/∂K_ij = X_j ⋆ δ_i               (IC-5, AV-14; summed over the batch)
    ∂E/∂B_i  = Σ_{n,h,w} δ_i           (IC-6, tied bias)
    ∂E/∂X_j  = Σ_i δ_i *_full K_ij     (IC-7; cropped by the padding, IC-11)

With stride s the forward keeps every s-th window (IC-10), so the backward sends δ back
to those positions only: δ is dilated by s (s − 1 zeros between its entries) before the
full convolution, and input rows that no window covers get zero gradient.

This module holds the argument checks, the geometry, and the equations written once as
readable NumPy: a strided window view and one `einsum` per equation. `conv2d` and
`conv2d_backward` run a faster implementation where the kernel set
(`ref_cnn._fast.backend`, `ref_cnn.set_kernels`) has one, and these equations otherwise;
`conv2d_readable` and `conv2d_backward_readable` always run the equations. The tests hold
the equations, the fast kernels, the literal loops of `ref_cnn.literal` and torch equal.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ref_cnn._checks import (
    MAX_ELEMENTS,
    as_float_array,
    batched,
    check_arrays,
    check_grad_shape,
    pair,
    same_dtype,
    unbatch,
)
from ref_cnn._fast import backend
from ref_cnn.functional.im2col import Padding2, pad_nchw, windows
from ref_cnn.functional.shapes import conv_output_size, same_padding


@dataclass(frozen=True)
class ConvGeometry:
    """Validated shapes and hyper-parameters of one conv2d call."""

    n: int
    c_in: int
    c_out: int
    groups: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: Padding2  # ((top, bottom), (left, right))
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """(N, C_out, H_out, W_out)."""
        return (self.n, self.c_out, *self.out_hw)


def _resolve_padding(padding, kernel, stride, dilation) -> Padding2:
    """int, (int, int), "valid" or "same" → ((top, bottom), (left, right)) [MB-3, MB-7]."""
    if isinstance(padding, str):
        if padding == "valid":  # MB-7: valid convolution, p = 0
            return ((0, 0), (0, 0))
        if padding == "same":  # MB-7: output size = input size
            if stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, as in torch; got {stride}")
            return (same_padding(kernel[0], dilation[0]), same_padding(kernel[1], dilation[1]))
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same'; got {padding!r}")
    p = pair(padding, "padding", 0)
    return ((p[0], p[0]), (p[1], p[1]))


def conv_geometry(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> ConvGeometry:
    """Check every argument of conv2d and return its geometry (raises ValueError/TypeError)."""
    as_float_array(x, "x", ndim=4)
    as_float_array(w, "w", ndim=4)
    if b is not None:
        as_float_array(b, "b")
    same_dtype(x=x, w=w, b=b)
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")
    n, c_in, h, wd = x.shape
    c_out, c_per_group, kh, kw = w.shape
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both C_in={c_in} and C_out={c_out} (w.shape[0])"
        )
    if c_per_group * groups != c_in:
        want = c_per_group * groups
        fix = (  # a channels-last image is the usual cause
            "x looks channels-last (N, H, W, C): pass x.transpose(0, 3, 1, 2)"
            if x.shape[3] == want
            else f"x must be (N, C_in, H, W) with C_in = w.shape[1] * groups = {want}"
        )
        raise ValueError(
            f"channel mismatch: x has C_in={c_in} channels, but w of shape {w.shape} with "
            f"groups={groups} expects {want}; {fix}"
        )
    if b is not None and b.shape != (c_out,):
        raise ValueError(
            f"b must have shape ({c_out},) (one bias per output channel), got {b.shape}"
        )
    s = pair(stride, "stride", 1)
    d = pair(dilation, "dilation", 1)
    pad = _resolve_padding(padding, (kh, kw), s, d)
    out = tuple(
        conv_output_size(size + sum(p), k, 0, st, dl)
        for size, p, k, st, dl in zip((h, wd), pad, (kh, kw), s, d, strict=True)
    )
    if min(out) < 1:
        raise ValueError(
            f"kernel {(kh, kw)} with dilation {d} is larger than the padded input "
            f"{(h + sum(pad[0]), wd + sum(pad[1]))}: pad the input (padding=...) or use a "
            "smaller kernel"
        )
    padded = n * c_in * (h + sum(pad[0])) * (wd + sum(pad[1]))
    if max(padded, n * c_out * out[0] * out[1]) > MAX_ELEMENTS:
        raise ValueError(
            f"the padded input ({padded} elements) or the output would have more than "
            f"{MAX_ELEMENTS} elements; check padding {pad} and the input shape {x.shape}"
        )
    return ConvGeometry(n, c_in, c_out, groups, (kh, kw), s, d, pad, (h, wd), out)


def _checked_batch(x, w, b=None, dy=None) -> tuple[np.ndarray, bool]:
    """`batched(x)` after one check of every array that names each problem and its fix (an
    integer 2-D image: its dtype and its missing axes at once)."""
    check_arrays(
        x=(x, {4: "(N, C_in, H, W)", 3: "unbatched (C_in, H, W)"}),
        w=(w, {4: "(C_out, C_in/groups, kH, kW)"}),
        b=(b, {1: "(C_out,)"}),
        dy=(dy, {4: "(N, C_out, H_out, W_out)", 3: "(C_out, H_out, W_out)"}),
    )
    return batched(x)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D convolution layer (cross-correlation), as `torch.nn.functional.conv2d`.

    [IC-4, MB-5, MB-9, MB-3, MB-4, MB-6, MB-7, IC-10, IC-11]

    y[n, i, h, w] = b[i] + Σ_j Σ_m Σ_q w[i, j, m, q] · x_pad[n, g·C_g + j, h·s_h + m·d_h, w·s_w + q·d_w]

    Args:
        x: (N, C_in, H, W), or one unbatched sample (C_in, H, W) as torch (y is then
            (C_out, H_out, W_out)).
        w: (C_out, C_in/groups, kH, kW).
        b: (C_out,) or None (AV's filters have no bias).
        stride, dilation: int or (int, int), ≥ 1.
        padding: int, (int, int), "valid" or "same" (stride 1 only; an even extent puts the
            extra zero row/column at the bottom/right, as torch).
        groups: channels are split into `groups` independent convolutions
            (groups = C_in: depthwise).

    Shape:
        y: (N, C_out, H_out, W_out), H_out = ⌊(H + 2p_h − d_h·(kH − 1) − 1)/s_h⌋ + 1 (MB-6).

    Notes:
        MB-5 writes the sum over i = 1..n_H, j = 1..n_W (the image size); the sum runs over
        the filter, i, j = 1..f. See `ref_cnn.articles.errata`. The kernel set chooses how the
        sum is computed (`ref_cnn.set_kernels`); the body below is the equation.

    Example:
        AV-1's worked example (the article calls it a convolution; it is a correlation):

        >>> import numpy as np
        >>> from ref_cnn.functional import conv2d
        >>> x = np.array([[1.0, 7, 2], [11, 1, 23], [2, 2, 2]]).reshape(1, 1, 3, 3)
        >>> f = np.array([[1.0, 1], [0, 1]]).reshape(1, 1, 2, 2)
        >>> conv2d(x, f)
        array([[[[ 9., 32.],
                 [14., 26.]]]])
        >>> conv2d(np.ones((2, 3, 28, 28)), np.ones((8, 3, 5, 5)), stride=2, padding=1).shape
        (2, 8, 13, 13)
    """
    x, added = _checked_batch(x, w, b)
    g = conv_geometry(x, w, b, stride, padding, dilation, groups)
    fast = backend.alternative("conv2d", compiled_covers=g.groups == 1 and g.n > 0)
    if fast is not None:  # the kernel set's implementation of the sum below
        return unbatch(fast(x, w, b, g), added)
    n, c_g, o_g, (kh, kw), (ho, wo) = g.n, g.c_in // groups, g.c_out // groups, g.kernel, g.out_hw
    xp = pad_nchw(x, g.padding)  # MB-3: zero padding
    # MB-4: every window, stride and dilation applied; (N, C_in, H_o, W_o, kH, kW)
    view = windows(xp, g.kernel, g.stride, g.dilation, g.out_hw)
    view = view.reshape(n, groups, c_g, ho, wo, kh, kw)  # channel j of group g
    k = w.reshape(groups, o_g, c_g, kh, kw)  # K_ij of group g
    y = np.einsum("ngjhwmq,gijmq->ngihw", view, k)  # IC-4, MB-5: Σ_j X_j ⋆ K_ij
    y = y.reshape(g.out_shape)  # (N, C_out, H_out, W_out)
    y = y if b is None else y + b.reshape(-1, 1, 1)  # IC-4: Y_i = B_i + Σ_j X_j ⋆ K_ij
    return unbatch(y, added)


def conv2d_readable(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """`conv2d` as its equation, whatever the kernel set: a window view and one contraction
    [IC-4, MB-5]. Same arguments, checks and result as `conv2d` (to rounding); slower. Each
    window [n, j, h, w] of the padded input is the f×f patch that output pixel (h, w) sees,
    so the sum over channels j and filter positions (m, q) is a single `einsum`.
    """
    with backend.using("readable"):
        return conv2d(x, w, b, stride, padding, dilation, groups)


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, need_dx=True):
    """Gradients of `conv2d` [IC-5, IC-6, IC-7, IC-10, IC-11, AV-14].

    Args:
        dy: (N, C_out, H_out, W_out), ∂E/∂y ((C_out, H_out, W_out) for an unbatched x).
        x, w, stride, padding, dilation, groups: as given to `conv2d`.
        need_dx: False skips the input gradient (a first layer needs none) and returns None.

    Returns:
        dx: (N, C_in, H, W), ∂E/∂X_j = Σ_i δ_i *_full K_ij cropped by the padding (IC-7, IC-11).
        dw: (C_out, C_in/groups, kH, kW), ∂E/∂K_ij = Σ_n X_j ⋆ δ_i (IC-5, AV-14).
        db: (C_out,), ∂E/∂B_i = Σ_{n,h,w} δ_i (IC-6, tied bias).

    Notes:
        AV's code averages δ over the images before correlating, drops the σ′ factor and
        reshapes δ in the wrong order; IC's code is correct for stride 1. See `ref_cnn.articles.errata`.
        The kernel set chooses how the sums are computed (`ref_cnn.set_kernels`); the body
        below is the equations. dx is IC-7's full convolution: δ, dilated by the stride
        (IC-10) and padded by the kernel's reach d·(k − 1) (IC-3), correlated with the kernel
        rotated by 180° (IC-2), gives the gradient of the padded input; cropping P is IC-11.

    Example:
        >>> import numpy as np
        >>> from ref_cnn.functional import conv2d, conv2d_backward
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
        >>> dy = rng.standard_normal(conv2d(x, w, padding=1).shape)  # ∂E/∂y from the next layer
        >>> dx, dw, db = conv2d_backward(dy, x, w, padding=1)
        >>> dx.shape, dw.shape, db.shape
        ((2, 3, 8, 8), (4, 3, 3, 3), (4,))
        >>> bool(np.allclose(db, dy.sum(axis=(0, 2, 3))))  # IC-6
        True
    """
    dy, x, added, g = _backward_geometry(dy, x, w, stride, padding, dilation, groups)
    fast = backend.alternative("conv2d_backward", compiled_covers=g.groups == 1 and g.n > 0)
    if fast is not None:  # the kernel set's implementation of the sums below
        dx, dw, db = fast(dy, x, w, g, need_dx)
        return (None if dx is None else unbatch(dx, added)), dw, db
    n, c_g, o_g, (kh, kw), (ho, wo) = g.n, g.c_in // groups, g.c_out // groups, g.kernel, g.out_hw
    (top, bottom), (left, right) = g.padding
    hp, wp = g.in_hw[0] + top + bottom, g.in_hw[1] + left + right  # padded input size
    view = windows(pad_nchw(x, g.padding), g.kernel, g.stride, g.dilation, g.out_hw)
    view = view.reshape(n, groups, c_g, ho, wo, kh, kw)  # (N, G, C_g, H_o, W_o, kH, kW)
    delta = dy.reshape(n, groups, o_g, ho, wo)  # δ_i = ∂E/∂Y_i of group g
    dw = np.einsum("ngjhwmq,ngihw->gijmq", view, delta)  # IC-5, AV-14: Σ_n X_j ⋆ δ_i
    db = dy.sum(axis=(0, 2, 3))  # IC-6: Σ_{n,h,w} δ_i
    if not need_dx:
        return None, dw.reshape(w.shape), db
    (sh, sw), (dil_h, dil_w) = g.stride, g.dilation
    dilated = np.zeros((n, g.c_out, (ho - 1) * sh + 1, (wo - 1) * sw + 1), dtype=dy.dtype)
    dilated[:, :, ::sh, ::sw] = dy  # IC-10: s − 1 zeros between the entries of δ
    rh, rw = dil_h * (kh - 1), dil_w * (kw - 1)  # IC-3: full = padded by the kernel's reach
    extra_h = hp - dilated.shape[2] - rh  # last rows, columns that no window reads (IC-10)
    extra_w = wp - dilated.shape[3] - rw
    full = pad_nchw(dilated, ((rh, rh + extra_h), (rw, rw + extra_w)))
    dview = windows(full, g.kernel, (1, 1), g.dilation, (hp, wp))  # (N, C_out, Hp, Wp, kH, kW)
    dview = dview.reshape(n, groups, o_g, hp, wp, kh, kw)
    rot = w.reshape(groups, o_g, c_g, kh, kw)[..., ::-1, ::-1]  # IC-2: K rotated by 180°
    dxp = np.einsum("ngihwmq,gijmq->ngjhw", dview, rot)  # IC-7: Σ_i δ_i *_full K_ij
    dxp = dxp.reshape(n, g.c_in, hp, wp)  # ∂E/∂X of the padded input
    dx = dxp[:, :, top : top + g.in_hw[0], left : left + g.in_hw[1]]  # IC-11: crop P
    return unbatch(np.ascontiguousarray(dx), added), dw.reshape(w.shape), db


def _backward_geometry(dy, x, w, stride, padding, dilation, groups):
    """(dy, x) as 4-D arrays, whether x was unbatched, and the checked geometry."""
    x, added = _checked_batch(x, w, None, dy)
    g = conv_geometry(x, w, None, stride, padding, dilation, groups)
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, g.out_shape[1:] if added else g.out_shape)
    return (dy[None] if added else dy), x, added, g


def conv2d_backward_readable(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """`conv2d_backward` as its equations, whatever the kernel set: one `einsum` each
    [IC-5, IC-7, AV-14]. Same arguments, checks and results as `conv2d_backward` (to
    rounding); slower.
    """
    with backend.using("readable"):
        return conv2d_backward(dy, x, w, stride, padding, dilation, groups)


def conv2d_untied(x, w, b, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Convolution with an untied bias, one per output position [IC-4], as IC's code.

    y = conv2d(x, w) + b with b of shape (C_out, H_out, W_out) broadcast over the batch.
    x may be one unbatched sample (C, H, W), as for `conv2d`.
    """
    g = conv_geometry(batched(x)[0], w, None, stride, padding, dilation, groups)
    b = as_float_array(b, "b", ndim=3)
    same_dtype(x=x, b=b)
    if b.shape != g.out_shape[1:]:
        raise ValueError(
            f"untied bias must have shape (C_out, H_out, W_out) = {g.out_shape[1:]}, got {b.shape}"
        )
    return conv2d(x, w, None, stride, padding, dilation, groups) + b  # IC-4: Y_i = B_i + …


def conv2d_untied_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, need_dx=True):
    """Gradients of `conv2d_untied` [IC-5, IC-6, IC-7]: db = ∂E/∂B_i = δ_i summed over N only
    (δ itself for an unbatched sample); need_dx as for `conv2d_backward`."""
    dx, dw, _ = conv2d_backward(dy, x, w, stride, padding, dilation, groups, need_dx)
    dy4, _ = batched(dy, "dy")
    return dx, dw, dy4.sum(axis=0)  # IC-6 (untied): ∂E/∂B_i = ∂E/∂Y_i per position
