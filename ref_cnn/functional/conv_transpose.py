"""Transposed convolution: the input gradient of a convolution, as a layer [IC-7, IC-3, IC-11].

IC-7 writes the input gradient of a convolution as a full convolution (IC-3) of δ with
the kernel, cropped by the padding (IC-11):

    ∂E/∂X_j = Σ_i δ_i *_full K_ij

`conv_transpose2d` is that map applied to an input x instead of δ: every input pixel
scatters a copy of the kernel, scaled by its value, onto the output, s pixels apart:

    y_full[n, o, h·s + m·d, w·s + q·d] += x[n, i, h, w] · w[i, o, m, q]

and the output is y_full cropped by p on each side (plus output_padding extra rows and
columns at the bottom/right), plus the bias. So conv_transpose2d(x, w) equals
conv2d_backward(x, ·, w)'s dx (x in the role of δ), and its own backward is a
convolution again:

    ∂E/∂x = conv2d(∂E/∂y, w)          (the forward of the convolution it transposes)
    ∂E/∂w = the kernel gradient of that convolution with ∂E/∂y as input and x as δ (IC-5)
    ∂E/∂b = Σ_{n,h,w} ∂E/∂y            (IC-6)

The literal loop transcription is `ref_cnn.literal.conv_transpose2d`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ref_cnn._checks import as_float_array, batched, check_grad_shape, pair, same_dtype, unbatch
from ref_cnn.functional.conv import conv2d, conv2d_backward


@dataclass(frozen=True)
class TransposeGeometry:
    """Validated shapes and hyper-parameters of one conv_transpose2d call."""

    n: int
    c_in: int
    c_out: int
    groups: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """(N, C_out, H_out, W_out)."""
        return (self.n, self.c_out, *self.out_hw)


def transpose_output_size(n, k, stride=1, padding=0, output_padding=0, dilation=1) -> int:
    """Output size of a transposed convolution [IC-3, IC-11]:
    (n − 1)·s − 2p + d·(k − 1) + output_padding + 1, the input size of the convolution it
    transposes (IC-3's full size n + k − 1 at s = d = 1, p = 0)."""
    return (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


def transpose_geometry(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> TransposeGeometry:
    """Check every argument of conv_transpose2d as torch does; x must already be 4-D."""
    as_float_array(x, "x", ndim=4)
    as_float_array(w, "w", ndim=4)
    if b is not None:
        as_float_array(b, "b", ndim=1)
    same_dtype(x=x, w=w, b=b)
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")
    n, c_in, h, wd = x.shape
    w_in, c_out_g, kh, kw = w.shape
    if w_in != c_in:
        raise ValueError(
            f"channel mismatch: x has C_in={c_in} channels but w of shape {w.shape} is "
            f"(C_in, C_out/groups, kH, kW) with C_in={w_in} (torch's ConvTranspose2d weight)"
        )
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide C_in={c_in}")
    c_out = c_out_g * groups
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"b must have shape ({c_out},) (one per output channel), got {b.shape}")
    if isinstance(padding, str):
        raise ValueError(f"padding must be an int or a pair of ints, got {padding!r}")
    s = pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    op = pair(output_padding, "output_padding", 0)
    d = pair(dilation, "dilation", 1)
    for a in (0, 1):
        if op[a] >= max(s[a], d[a]):
            raise ValueError(
                f"output_padding {op} must be smaller than the stride {s} or the dilation {d} "
                "in each dimension, as torch"
            )
    out = tuple(
        transpose_output_size(size, k, s[a], p[a], op[a], d[a])
        for a, (size, k) in enumerate(zip((h, wd), (kh, kw), strict=True))
    )
    if min(out) < 1:
        raise ValueError(
            f"the output would have size {out}: padding {p} crops more than the full "
            f"output of input {(h, wd)} and kernel {(kh, kw)}"
        )
    return TransposeGeometry(n, c_in, c_out, groups, (kh, kw), s, p, op, d, (h, wd), out)


def conv_transpose2d(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> np.ndarray:
    """Transposed 2-D convolution, as `torch.nn.functional.conv_transpose2d` [IC-7, IC-3, IC-11].

    y[n, o, h·s + m·d − p, w·s + q·d − p] += x[n, i, h, w] · w[i, o − g·O_g, m, q] (+ b[o]),
    i in group g; the scatter form of IC-7's Σ_i δ_i *_full K_ij with x in place of δ.

    Args:
        x: (N, C_in, H, W) or unbatched (C_in, H, W).
        w: (C_in, C_out/groups, kH, kW), torch's ConvTranspose2d weight layout.
        b: (C_out,) or None.
        stride, padding, output_padding, dilation: int or (int, int); padding crops the
            full output (IC-11), output_padding (< stride or dilation) adds rows/columns
            at the bottom/right so that a strided convolution's input size can be recovered.
        groups: C_in and C_out split into independent groups.

    Shape:
        y: (N, C_out, H_out, W_out), H_out = (H − 1)·s − 2p + d·(kH − 1) + output_padding + 1.
    """
    x4, added = batched(x)
    g = transpose_geometry(x4, w, b, stride, padding, output_padding, groups, dilation)
    (sh, sw), (dh, dw), (ph, pw) = g.stride, g.dilation, g.padding
    (h, wd), (kh, kw), og = g.in_hw, g.kernel, g.c_out // g.groups
    # every input pixel times every kernel tap, per group: (N, G, O_g, kH, kW, H, W)
    xg = x4.reshape(g.n, g.groups, g.c_in // g.groups, h, wd)
    wg = w.reshape(g.groups, g.c_in // g.groups, og, kh, kw)
    taps = np.einsum("ngihw,giomq->ngomqhw", xg, wg, optimize=True)
    # the full output (IC-3), large enough for the crop and output_padding
    full_h = max((h - 1) * sh + dh * (kh - 1) + 1, ph + g.out_hw[0])
    full_w = max((wd - 1) * sw + dw * (kw - 1) + 1, pw + g.out_hw[1])
    y_full = np.zeros((g.n, g.groups, og, full_h, full_w), dtype=x4.dtype)
    for m in range(kh):  # IC-7: scatter each tap s pixels apart, offset by m·d
        for q in range(kw):
            rows = slice(m * dh, m * dh + (h - 1) * sh + 1, sh)
            cols = slice(q * dw, q * dw + (wd - 1) * sw + 1, sw)
            y_full[:, :, :, rows, cols] += taps[:, :, :, m, q]
    # IC-11: crop p on each side (output_padding keeps extra rows at the end)
    y = y_full[:, :, :, ph : ph + g.out_hw[0], pw : pw + g.out_hw[1]].reshape(g.out_shape)
    y = np.ascontiguousarray(y)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return unbatch(y, added)


def conv_transpose2d_backward(
    dy, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """Gradients of `conv_transpose2d`: a convolution again [IC-4, IC-5, IC-6].

    The transposed convolution is the input gradient of conv2d(·, w) (IC-7), so its own
    gradients are that convolution's forward and kernel gradient:

        dx = conv2d(dy, w, stride, padding, dilation, groups)         (IC-4: dy ⋆ K)
        dw = conv2d_backward(x as δ, dy as input, w)'s dw              (IC-5: dy ⋆ x)
        db = Σ_{n,h,w} dy                                              (IC-6)

    Args:
        dy: ∂E/∂y, y's shape; x, w and the options as given to `conv_transpose2d`.

    Returns:
        (dx, dw, db) of the shapes of x, w and (C_out,).
    """
    x4, added = batched(x)
    g = transpose_geometry(x4, w, None, stride, padding, output_padding, groups, dilation)
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, g.out_shape[1:] if added else g.out_shape)
    dy4 = dy[None] if added else dy
    opts = dict(stride=g.stride, padding=g.padding, dilation=g.dilation, groups=g.groups)
    # With output_padding ≥ stride (allowed when the dilation is larger), the convolution of
    # dy has more output rows than x: those windows read only output_padding, which no
    # input reached; they are cropped from dx and get δ = 0 in dw.
    dx_full = conv2d(dy4, w, None, **opts)  # IC-4 with the transposed layer's kernel
    h, wd = g.in_hw
    dx = np.ascontiguousarray(dx_full[:, :, :h, :wd])
    delta = np.zeros(dx_full.shape[:1] + (g.c_in,) + dx_full.shape[2:], dtype=x4.dtype)
    delta[:, :, :h, :wd] = x4
    _, dw, _ = conv2d_backward(delta, dy4, w, **opts, need_dx=False)  # IC-5: ∂E/∂K = dy ⋆ x
    return unbatch(dx, added), dw, dy4.sum(axis=(0, 2, 3))  # IC-6
