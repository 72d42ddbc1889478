"""The tuned NumPy pooling kernels, the "numpy" set's max and average pooling (private).

The public ops in `ref_cnn.functional.pool` are the equations (a window view and a max /
argmax / sum); this module computes the same results faster (`ref_cnn._fast.backend`
dispatches to it), and the tests hold the two equal (and both equal to torch and the
literal loops). Entry points, each taking an already checked geometry (`pool.PoolGeometry`):

    max_pool(x, g) → y                     IC-8: the window maximum
    max_pool_backward(dy, x, g) → dx       IC-8: δ to the window's first maximum
    window_sums(x, g) → Σ over each window IC-9 (the caller divides)
    spread(share, x, g) → dx               IC-9: each window's share to all its positions

How: each window offset reads one block of the input per call. The padded input is first
split into its s_h·s_w stride phases, each stored as a flat (N, C, H_g, W_g) grid of one
shape: then every offset's block is a single contiguous run of its phase, and the
elementwise work runs on contiguous memory. Grid positions that are not windows (i ≥ H_out
or j ≥ W_out) are computed, then dropped; in the backward pass their δ is 0.

Every image's result depends on that image alone: each entry point runs on chunks of images
in parallel (`ref_cnn._fast.threads`), cut by size alone, so results don't depend on the thread
count.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ref_cnn._fast.threads import grain, parallel_map, spans
from ref_cnn.functional.im2col import pad_nchw

if TYPE_CHECKING:
    from ref_cnn.functional.pool import PoolGeometry


# Input bytes per chunk of images (a task on ref_cnn's threads): cut by size, not by the
# thread count (docs/design.md, "Pooling").
TASK_BYTES = 2 * 2**20


def _by_images(kernel):
    """`kernel(*arrays, g)` run on chunks of images in parallel, results concatenated."""

    @functools.wraps(kernel)
    def run(*arrays_and_g):
        *arrays, g = arrays_and_g
        x = arrays[-1]
        step = grain(x.shape[0], x[:1].nbytes, TASK_BYTES, weight=4)  # kH·kW passes
        chunks = spans(x.shape[0], step)
        if len(chunks) == 1:
            return kernel(*arrays, g)
        parts = parallel_map(
            lambda c: kernel(*(a[c[0] : c[1]] for a in arrays), g), chunks, blas=False
        )
        return np.concatenate(parts)

    return run


class Phases:
    """A checked pooling geometry with the stride-phase layout the kernels compute on."""

    def __init__(self, g: PoolGeometry):
        self.kernel, self.stride, self.dilation = g.kernel, g.stride, g.dilation
        self.in_hw, self.out_hw = g.in_hw, g.out_hw
        # Computed once per call, not per block: the Python around the NumPy calls holds the
        # GIL the other threads wait for (docs/design.md, "Pooling").
        self._pads = g.pads()  # ((top, bottom), (left, right)): enough for every window
        hp, wp = (self.in_hw[a] + sum(self._pads[a]) for a in (0, 1))
        self._grid = -(-hp // self.stride[0]), -(-wp // self.stride[1])
        (sh, sw), (dh, dw) = self.stride, self.dilation
        self._offsets = [
            (m * self.kernel[1] + q, ((m * dh) % sh, (q * dw) % sw), (m * dh) // sh, (q * dw) // sw)
            for m in range(self.kernel[0])
            for q in range(self.kernel[1])
        ]
        self._last_start = max(a * self._grid[1] + b for _, _, a, b in self._offsets)

    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return self._pads

    def offsets(self) -> list[tuple[int, tuple[int, int], int, int]]:
        """For every kernel offset (m, q): its flat index m·kW + q, the stride phase (r, t)
        of the rows and columns it reads, and where its block starts in that phase plane."""
        return self._offsets

    def phases(self) -> set[tuple[int, int]]:
        return {key for _, key, _, _ in self._offsets}

    def grid(self) -> tuple[int, int]:
        """(H_g, W_g): the shape every phase plane is stored in, the largest phase of the
        padded input (H_g ≥ H_out + the largest block start, likewise W_g)."""
        return self._grid

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
        return next(iter(planes.values())).size - self._last_start

    def block(self, planes, key, a: int, b: int) -> np.ndarray:
        """The values one kernel offset contributes to every window, on the flat grid:
        element (n, c, i, j) of the grid is window (i, j) of image n, channel c for
        i < H_out, j < W_out; the other elements are not windows (`windows` drops them)."""
        start = a * self._grid[1] + b
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


# ---------------------------------------------------------------- max pooling (IC-8)


@_by_images
def max_pool(x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """(N, C, H_out, W_out) window maxima of x [IC-8]."""
    ph = Phases(g)
    best = _max_and_argmax(x, ph, need_index=False)[0]  # IC-8: the window maximum
    return np.ascontiguousarray(ph.windows(best, *x.shape[:2]))


@_by_images
def max_pool_backward(dy: np.ndarray, x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """dx: each dy to its window's first maximum [IC-8]; overlapping windows add up."""
    ph = Phases(g)
    _, idx = _max_and_argmax(x, ph, need_index=True)  # on the flat grid (see `split`)
    grads = ph.zero_planes(*x.shape[:2], x.dtype)
    dy = ph.on_grid(dy, idx.size)  # 0 off the windows: those add nothing anywhere
    hit, share = np.empty(idx.shape, dtype=bool), np.empty(idx.shape, dtype=x.dtype)
    finite = bool(np.isfinite(dy).all())  # else dy·0 would spread NaN outside its window
    for flat, key, a, b in ph.offsets():  # IC-8: dy to the position of the maximum
        np.equal(idx, flat, out=hit)
        if finite:
            np.multiply(dy, hit, out=share)
        else:
            share = np.where(hit, dy, 0).astype(x.dtype)
        ph.block(grads, key, a, b)[...] += share
    return ph.merge(grads, x)


def _max_and_argmax(x: np.ndarray, ph: Phases, need_index: bool):
    """Window maxima and the flat offset (m·kW + q) where each was found, scanning offsets in
    row-major order as torch does: a larger value replaces the maximum (so among ties the
    first one stays), and so does a NaN (NaN propagates)."""
    planes = ph.split(x, -np.inf)  # padding is −∞: it never wins (not 0)
    has_nan = need_index and bool(np.isnan(x).any())
    # A real −∞ ties with the −∞ padding: torch scans real positions only, so a window whose
    # real values are all −∞ has its first real position as maximum. Where x holds −∞, the
    # scan therefore also lets a real position replace one of padding (`real`: True on x).
    real = None
    if need_index and bool(np.isneginf(x).any()):
        real = ph.split(np.ones(x.shape, dtype=bool), False)
    best = idx = better = best_real = None
    for flat, key, a, b in ph.offsets():
        v = ph.block(planes, key, a, b)
        if best is None:
            best = v.copy()
            if need_index:
                idx = np.zeros(
                    best.shape, dtype=np.int8 if ph.kernel[0] * ph.kernel[1] <= 127 else np.int32
                )
                better = np.empty(best.shape, dtype=bool)
                if real is not None:
                    best_real = ph.block(real, key, a, b).copy()
            continue
        if not need_index:
            np.maximum(best, v, out=best)  # NaN propagates, as torch
            continue
        np.greater(v, best, out=better)
        if has_nan:
            better |= np.isnan(v)
        if real is not None:  # a real position replaces padding
            here = ph.block(real, key, a, b)
            better |= here & ~best_real
            best_real |= here
        np.maximum(best, v, out=best)  # the same values as keeping v where better
        step = flat - idx  # idx ← flat where better (arithmetic: masked copies are slow)
        step *= better
        idx += step
    return best, idx


# ---------------------------------------------------------------- average pooling (IC-9)


@_by_images
def window_sums(x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """(N, C, H_out, W_out) sums of every window of x zero-padded [IC-9, before the mean]."""
    ph = Phases(g)
    planes = ph.split(x, 0.0)
    sums = None
    for _, key, a, b in ph.offsets():  # Σ over the window, one kernel offset at a time
        v = ph.block(planes, key, a, b)
        sums = v.copy() if sums is None else np.add(sums, v, out=sums)
    return ph.windows(sums, *x.shape[:2])


@_by_images
def spread(share: np.ndarray, x: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """dx: share[n, c, i, j] added to every position of window (i, j) [IC-9]."""
    ph = Phases(g)
    grads = ph.zero_planes(*x.shape[:2], x.dtype)
    share = ph.on_grid(share, ph.run(grads))
    for _, key, a, b in ph.offsets():  # IC-9: an equal share to every position of the window
        ph.block(grads, key, a, b)[...] += share
    return ph.merge(grads, x)
