"""Max and average pooling, forward and backward [MB-8, IC-8, IC-9, IC-10].

Pooling slides an f×f window with stride s over each channel separately and keeps the
maximum (IC-8) or the mean (IC-9); it has no parameters and leaves C unchanged (MB-8).
Semantics are torch's: output size with `ceil_mode` (see `shapes.pool_output_size`),
max-pool padding that never wins (−∞, not 0), `count_include_pad` for the divisor.

Ties in max pooling: the whole gradient goes to the *first* maximum of the window in
row-major order (the lowest flat index), as torch does. IC's code instead sends it to
every tied position; see `ref_cnn.errata`.

One deliberate difference: with dilation, a max-pool window can hold nothing but padding.
Both libraries output −∞ there; torch then routes that window's gradient to an unrelated
input element, ref_cnn to none (no input influences a −∞ output).

Each kernel offset reads one block of the input per call. The padded input is first split
into its s_h·s_w stride phases, each stored as a flat (N, C, H_g, W_g) grid of one shape:
then every offset's block is a single contiguous run of its phase, and the elementwise
work runs on contiguous memory. Grid positions that are not windows (i ≥ H_out or
j ≥ W_out) are computed, then dropped; in the backward pass their δ is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ref_cnn._checks import as_float_array, check_grad_shape, pair
from ref_cnn.functional.conv import MAX_ELEMENTS
from ref_cnn.functional.im2col import pad_nchw
from ref_cnn.functional.shapes import pool_output_size


@dataclass(frozen=True)
class PoolGeometry:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """p on the top/left; on the bottom/right p or more, enough for every window."""
        out = []
        for a in (0, 1):
            reach = (self.out_hw[a] - 1) * self.stride[a] + self.dilation[a] * (self.kernel[a] - 1)
            out.append(
                (self.padding[a], max(self.padding[a], reach + 1 - self.in_hw[a] - self.padding[a]))
            )
        return out[0], out[1]

    def padded_shape(self, x: np.ndarray) -> tuple[int, int, int, int]:
        (t, b), (l, r) = self.pads()
        return (x.shape[0], x.shape[1], x.shape[2] + t + b, x.shape[3] + l + r)

    def offsets(self):
        """For every kernel offset (m, q): its flat index m·kW + q, the stride phase (r, t)
        of the rows and columns it reads, and where its block starts in that phase plane."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for m in range(self.kernel[0]):
            for q in range(self.kernel[1]):
                yield (
                    m * self.kernel[1] + q,
                    ((m * dh) % sh, (q * dw) % sw),
                    (m * dh) // sh,
                    (q * dw) // sw,
                )

    def phases(self) -> set[tuple[int, int]]:
        return {key for _, key, _, _ in self.offsets()}

    def grid(self) -> tuple[int, int]:
        """(H_g, W_g): the shape every phase plane is stored in, the largest phase of the
        padded input (H_g ≥ H_out + the largest block start, likewise W_g)."""
        hp, wp = (self.in_hw[a] + sum(self.pads()[a]) for a in (0, 1))
        return -(-hp // self.stride[0]), -(-wp // self.stride[1])

    def _phase(self, phase: tuple[int, int], n_grid: tuple[int, int]):
        """The part of phase plane (r, t) that holds real input: plane rows [i0, i1) and
        columns [j0, j1), and the input rows and columns (strided slices) they hold. Plane
        position i is padded position r + i·s, input position r + i·s − p."""
        out = []
        for a in (0, 1):
            s, p, n = self.stride[a], self.pads()[a][0], self.in_hw[a]
            i0 = max(0, -(-(p - phase[a]) // s))
            i1 = max(i0, min(n_grid[a], -(-(n + p - phase[a]) // s)))
            start = phase[a] + i0 * s - p
            out.append((slice(i0, i1), slice(start, start + (i1 - i0 - 1) * s + 1, s)))
        (rows, x_rows), (cols, x_cols) = out
        return (rows, cols), (x_rows, x_cols)

    def split(self, x: np.ndarray, value: float) -> dict[tuple[int, int], np.ndarray]:
        """The input padded with `value`, by stride phase: plane (r, t) holds x_pad[:, :, r::s_h,
        t::s_w] in an (N, C, H_g, W_g) grid (the rest `value`), flattened. In the flat plane
        every kernel offset's block of windows is one contiguous run (`block`), so the
        elementwise work below runs on contiguous memory."""
        n, c = x.shape[:2]
        hg, wg = self.grid()
        planes = {}
        for key in self.phases():
            plane = np.empty((n, c, hg, wg), dtype=x.dtype)
            (rows, cols), x_part = self._phase(key, (hg, wg))
            pads = ((rows.start, hg - rows.stop), (cols.start, wg - cols.stop))
            pad_nchw(x[:, :, x_part[0], x_part[1]], pads, value, out=plane)
            planes[key] = plane.reshape(-1)
        return planes

    def run(self, planes) -> int:
        """Length of every block: the whole grid less the largest block start."""
        wg = self.grid()[1]
        size = next(iter(planes.values())).size
        return size - max(a * wg + b for _, _, a, b in self.offsets())

    def block(self, planes, key, a: int, b: int) -> np.ndarray:
        """The values one kernel offset contributes to every window, on the flat grid:
        element (n, c, i, j) of the grid is window (i, j) of image n, channel c for
        i < H_out, j < W_out; the other elements are not windows (`windows` drops them)."""
        start = a * self.grid()[1] + b
        return planes[key][start : start + self.run(planes)]

    def windows(self, flat: np.ndarray, n: int, c: int) -> np.ndarray:
        """(N, C, H_out, W_out) read-only view of the window positions of a flat grid array
        (all of them lie within its `run`)."""
        hg, wg = self.grid()
        if (hg, wg) == self.out_hw and flat.size == n * c * hg * wg:
            return flat.reshape(n, c, hg, wg)  # every grid position is a window
        strides = tuple(flat.itemsize * k for k in (c * hg * wg, hg * wg, wg, 1))
        return as_strided(flat, (n, c, *self.out_hw), strides, writeable=False)

    def on_grid(self, dy: np.ndarray, length: int) -> np.ndarray:
        """dy (N, C, H_out, W_out) placed on the flat grid, 0 where there is no window."""
        n, c = dy.shape[:2]
        hg, wg = self.grid()
        if (hg, wg) == self.out_hw and length == dy.size:
            return dy.reshape(-1)  # every grid position is a window
        full = np.zeros((n, c, hg, wg), dtype=dy.dtype)
        full[:, :, : self.out_hw[0], : self.out_hw[1]] = dy
        return full.reshape(-1)[:length]

    def zero_planes(self, n: int, c: int, dtype) -> dict[tuple[int, int], np.ndarray]:
        """Gradient accumulators, one flat grid per stride phase (see `split`)."""
        hg, wg = self.grid()
        return {key: np.zeros(n * c * hg * wg, dtype=dtype) for key in self.phases()}

    def merge(self, planes, x: np.ndarray) -> np.ndarray:
        """Inverse of `split` for gradients: the real-input part of each phase plane back
        into a fresh (N, C, H, W) array (padding cropped, IC-11); phases no offset reads
        get 0."""
        n, c = x.shape[:2]
        hg, wg = self.grid()
        every = len(planes) == self.stride[0] * self.stride[1]  # then they cover all of x
        dx = (np.empty if every else np.zeros)(x.shape, dtype=x.dtype)
        for key, flat in planes.items():
            (rows, cols), x_part = self._phase(key, (hg, wg))
            dx[:, :, x_part[0], x_part[1]] = flat.reshape(n, c, hg, wg)[:, :, rows, cols]
        return dx


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
    g = PoolGeometry(k, s, p, d, (h, w), out)
    if np.prod(g.padded_shape(x), dtype=np.float64) > MAX_ELEMENTS:
        raise ValueError(
            f"the padded input {x.shape} with padding {p} would have more than {MAX_ELEMENTS} elements"
        )
    return g


# ---------------------------------------------------------------- max pooling (IC-8)


def _max_and_argmax(x: np.ndarray, g: PoolGeometry, need_index: bool):
    """Window maxima and the flat offset (m·kW + q) where each was found, scanning offsets in
    row-major order as torch does: a larger value replaces the maximum (so among ties the
    first one stays), and so does a NaN (NaN propagates)."""
    planes = g.split(x, -np.inf)  # padding is −∞: it never wins (not 0)
    has_nan = need_index and bool(np.isnan(x).any())
    best = idx = better = None
    for flat, key, a, b in g.offsets():
        v = g.block(planes, key, a, b)
        if best is None:
            best = v.copy()
            if need_index:
                idx = np.zeros(
                    best.shape, dtype=np.int8 if g.kernel[0] * g.kernel[1] <= 127 else np.int32
                )
                better = np.empty(best.shape, dtype=bool)
            continue
        if not need_index:
            np.maximum(best, v, out=best)  # NaN propagates, as torch
            continue
        np.greater(v, best, out=better)
        if has_nan:
            better |= np.isnan(v)
        np.maximum(best, v, out=best)  # the same values as keeping v where better
        step = flat - idx  # idx ← flat where better (arithmetic: masked copies are slow)
        step *= better
        idx += step
    return best, idx


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
    best = _max_and_argmax(x, g, need_index=False)[0]  # IC-8: the window maximum
    return np.ascontiguousarray(g.windows(best, *x.shape[:2]))


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
    _, idx = _max_and_argmax(x, g, need_index=True)  # on the flat grid (see `split`)
    grads = g.zero_planes(*x.shape[:2], x.dtype)
    dy = g.on_grid(dy, idx.size)  # 0 off the windows: those add nothing anywhere
    hit, share = np.empty(idx.shape, dtype=bool), np.empty(idx.shape, dtype=x.dtype)
    finite = bool(np.isfinite(dy).all())  # else dy·0 would spread NaN outside its window
    for flat, key, a, b in g.offsets():  # IC-8: dy to the position of the maximum
        np.equal(idx, flat, out=hit)
        if finite:
            np.multiply(dy, hit, out=share)
        else:
            share = np.where(hit, dy, 0).astype(x.dtype)
        g.block(grads, key, a, b)[...] += share
    return g.merge(grads, x)


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
    planes = g.split(x, 0.0)
    sums = None
    for _, key, a, b in g.offsets():  # Σ over the window, one kernel offset at a time
        v = g.block(planes, key, a, b)
        sums = v.copy() if sums is None else np.add(sums, v, out=sums)
    sums = g.windows(sums, *x.shape[:2])
    return sums / _divisor(g, bool(count_include_pad)).astype(x.dtype)  # IC-9: the mean


def avg_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> np.ndarray:
    """Gradient of `avg_pool2d` [IC-9, IC-10]: dy/|window| shared equally over the window."""
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    dy = as_float_array(dy, "dy", ndim=4)
    check_grad_shape(dy, (*x.shape[:2], *g.out_hw))
    share = dy / _divisor(g, bool(count_include_pad)).astype(x.dtype)
    grads = g.zero_planes(*x.shape[:2], x.dtype)
    share = g.on_grid(share, g.run(grads))
    for _, key, a, b in g.offsets():  # IC-9: an equal share to every position of the window
        g.block(grads, key, a, b)[...] += share
    return g.merge(grads, x)
