"""Loop-for-loop transcriptions of max and average pooling [IC-8, IC-9]: each window read
one position at a time, with torch's padding, dilation, ceil_mode and divisor rules. The
witnesses the pooling ops of `ref_cnn.functional` are tested equal to.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import batched, unbatch
from ref_cnn.functional.pool import pool_geometry


def _pool_window(g, i, j):
    """Positions (r, s) in input coordinates of window (i, j), padding positions dropped."""
    for m in range(g.kernel[0]):
        for q in range(g.kernel[1]):
            r = i * g.stride[0] - g.padding[0] + m * g.dilation[0]
            s = j * g.stride[1] - g.padding[1] + q * g.dilation[1]
            if 0 <= r < g.in_hw[0] and 0 <= s < g.in_hw[1]:
                yield r, s


def _first_max(x2d, g, i, j):
    """Position of the first maximum in row-major window order (NaN wins), as torch."""
    best, where = -np.inf, None
    for r, s in _pool_window(g, i, j):
        v = x2d[r, s]
        if where is None or v > best or np.isnan(v):
            best, where = v, (r, s)
            if np.isnan(v):
                break
    return where


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """IC-8: the window maximum, windows read one by one."""
    x, added = batched(x)
    g = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.empty((*x.shape[:2], *g.out_hw), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(g.out_hw[0]):
                for j in range(g.out_hw[1]):
                    y[n, c, i, j] = x[n, c][_first_max(x[n, c], g, i, j)]
    return unbatch(y, added)


def max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """IC-8: each dy goes to the first maximum of its window."""
    x, added = batched(x)
    dy = np.asarray(dy)[None] if added else dy
    g = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(g.out_hw[0]):
                for j in range(g.out_hw[1]):
                    r, s = _first_max(x[n, c], g, i, j)
                    dx[n, c, r, s] += dy[n, c, i, j]
    return unbatch(dx, added)


def _avg_divisor(g, i, j, count_include_pad):
    if not count_include_pad:
        return len(list(_pool_window(g, i, j)))
    size = 1
    for a, idx in ((0, i), (1, j)):
        start = idx * g.stride[a] - g.padding[a]
        size *= min(start + g.kernel[a], g.in_hw[a] + g.padding[a]) - start
    return size


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """IC-9: the window mean, torch's divisor rule."""
    x, added = batched(x)
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    y = np.empty((*x.shape[:2], *g.out_hw), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(g.out_hw[0]):
                for j in range(g.out_hw[1]):
                    total = sum(x[n, c, r, s] for r, s in _pool_window(g, i, j))
                    y[n, c, i, j] = total / _avg_divisor(g, i, j, count_include_pad)
    return unbatch(y, added)


def avg_pool2d_backward(
    dy, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    """IC-9: dy shared equally over the window."""
    x, added = batched(x)
    dy = np.asarray(dy)[None] if added else dy
    g = pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(g.out_hw[0]):
                for j in range(g.out_hw[1]):
                    share = dy[n, c, i, j] / _avg_divisor(g, i, j, count_include_pad)
                    for r, s in _pool_window(g, i, j):
                        dx[n, c, r, s] += share
    return unbatch(dx, added)
