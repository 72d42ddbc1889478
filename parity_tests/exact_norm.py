"""200-digit witnesses for the normalisation gradients whose terms cancel (NRM-1 to NRM-4, NRM-6).

In a group of two values (layer norm over 2, group norm of one 2-value group) the input
gradient g − mean(g) − x̂·mean(g·x̂) cancels to ε/(σ² + ε) of its terms, ~1e-7; along an
axis of one value `normalize`'s gradient is exactly 0, a difference of equal terms. float64
rounding of the terms is then far above 1e-10 of the result, in torch as in any float64
evaluation. These witnesses evaluate the equations with Python's `decimal` at 200 digits,
element by element, and also return the size of the terms, so that torch can be held to the
float64 bound scaled by the cancellation (as `_batch_norm_bound` in test_opinfo.py).
"""

from __future__ import annotations

import decimal
from decimal import Decimal as D

import numpy as np

DIGITS = 200  # exact for the sums and products of a few float64 values (≤ 60 digits each)


def _rows(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """a with `axes` moved last and merged: (rows, values per group)."""
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    return moved.reshape(-1, int(np.prod([a.shape[i] for i in axes]))), moved.shape, rest


def _unrows(r: np.ndarray, moved_shape, rest, axes) -> np.ndarray:
    order = rest + list(axes)
    return np.transpose(r.reshape(moved_shape), np.argsort(order))


def _standardized_rows(x, axes, eps, centred, g=None):
    """Per group of `axes`: the exact x̂ and (|x| + |μ|)/√(σ² + ε), its terms, and with g the
    exact ∂E/∂x and its terms (below); float64 of x's shape, NaN where σ² + ε ≤ 0."""
    xr, shape, rest = _rows(np.asarray(x, np.float64), axes)
    gr = _rows(np.asarray(x if g is None else g, np.float64), axes)[0]
    out = [np.full(xr.shape, np.nan) for _ in range(4)]  # x̂, its terms, ∂E/∂x, its terms
    with decimal.localcontext() as ctx:
        ctx.prec = DIGITS
        for r in range(xr.shape[0]):
            xs, gs = [D(float(v)) for v in xr[r]], [D(float(v)) for v in gr[r]]
            m = D(len(xs))
            mu = sum(xs) / m if centred else D(0)
            d = [v - mu for v in xs]
            var = sum(v * v for v in d) / m
            if var + D(eps) <= 0:
                continue  # NaN, as torch's square root of a negative number
            inv = 1 / (var + D(eps)).sqrt()
            xhat = [v * inv for v in d]
            g_mean = sum(gs) / m if centred else D(0)
            g_xhat = sum(a * b for a, b in zip(gs, xhat, strict=True)) / m
            for j in range(len(xs)):
                out[0][r, j] = float(xhat[j])
                out[1][r, j] = float((abs(xs[j]) + abs(mu)) * inv)
                out[2][r, j] = float(inv * (gs[j] - g_mean - xhat[j] * g_xhat))
                out[3][r, j] = float(inv * (abs(gs[j]) + abs(g_mean) + abs(xhat[j] * g_xhat)))
    return [_unrows(a, shape, rest, axes) for a in out]


def standardized(x, axes: tuple[int, ...], eps: float, centred: bool = True):
    """(x̂, terms): x̂ = (x − μ)/√(σ² + ε) over `axes` (x/√(mean(x²) + ε) if not centred),
    terms = (|x| + |μ|)/√(σ² + ε); float64 of x's shape, NaN where σ² + ε ≤ 0."""
    return tuple(_standardized_rows(x, axes, eps, centred)[:2])


def standardized_backward(g, x, axes: tuple[int, ...], eps: float, centred: bool = True):
    """(∂E/∂x, terms) of x̂ = standardized(x, axes, eps, centred), given g = ∂E/∂x̂:
    ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε), and terms =
    (|g| + |mean(g)| + |x̂·mean(g·x̂)|)/√(σ² + ε), both float64 of x's shape. NaN where
    σ² + ε ≤ 0."""
    return tuple(_standardized_rows(x, axes, eps, centred, g)[2:])


def normalize_backward(dy, x, p: float, dim: int, eps: float):
    """(∂E/∂x, terms) of y = x/max(‖x‖_p, ε) along dim, finite p, float64 of x's shape.

    Written without the cancelling pair: with S = Σ_i |x_i|^p = ‖x‖^p,
    ∂E/∂x_j = Σ_{i ≠ j} (dy_j·|x_i|^p − dy_i·x_i·sign(x_j)·|x_j|^(p−1)) / ‖x‖^(p+1)
    (the i = j terms are equal and cancel exactly); dy/ε where ‖x‖ < ε; p = 0: dy/‖x‖_0.
    terms = (|dy_j| + |Σ_i dy_i·y_i|·|∂‖x‖/∂x_j|)/‖x‖, the two terms of the float form."""
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    shape0 = x.shape
    x, dy = x.reshape(x.shape or (1,)), dy.reshape(x.shape or (1,))
    xr, shape, rest = _rows(x, (dim,))
    gr = _rows(dy, (dim,))[0]
    dx, terms = np.zeros(xr.shape), np.zeros(xr.shape)
    with decimal.localcontext() as ctx:
        ctx.prec = DIGITS
        power = D(float(p))
        for r in range(xr.shape[0]):
            xs, gs = [D(float(v)) for v in xr[r]], [D(float(v)) for v in gr[r]]
            if p == 0:
                count = D(sum(1 for v in xs if v != 0))
                m = max(count, D(eps))
                dx[r] = [float(g / m) for g in gs]
                terms[r] = np.abs(dx[r])
                continue
            s = sum(abs(v) ** power for v in xs)  # ‖x‖^p
            norm = s ** (1 / power)
            if norm < D(eps):
                dx[r] = [float(g / D(eps)) for g in gs]
                terms[r] = np.abs(dx[r])
                continue
            along = sum(g * v for g, v in zip(gs, xs, strict=True)) / norm  # Σ dy_i·y_i
            for j, (xj, gj) in enumerate(zip(xs, gs, strict=True)):
                sign = D(1) if xj > 0 else D(-1) if xj < 0 else D(0)
                slope = sign * abs(xj) ** (power - 1) if xj != 0 else D(0)  # ‖x‖^(p−1)·∂‖x‖/∂x_j
                total = sum(
                    gj * abs(xi) ** power - gi * xi * slope
                    for i, (xi, gi) in enumerate(zip(xs, gs, strict=True))
                    if i != j
                )
                dx[r, j] = float(total / (s * norm))  # ‖x‖^(p+1) = S·‖x‖
                terms[r, j] = float((abs(gj) + abs(along) * abs(slope) / s * norm) / norm)
    return (
        _unrows(dx, shape, rest, (dim,)).reshape(shape0),
        _unrows(terms, shape, rest, (dim,)).reshape(shape0),
    )
