"""Layer normalisation and RMS normalisation over the trailing axes [NRM-1, NRM-2].

Both normalise every sample over its last `len(normalized_shape)` axes, as torch's
`F.layer_norm` and `F.rms_norm`:

    layer norm:  x̂ = (x − μ)/√(σ² + ε),  μ = mean(x), σ² = mean((x − μ)²)  (biased)
    RMS norm:    x̂ = x/√(mean(x²) + ε)
    y = γ·x̂ + β   (γ, β of shape normalized_shape, elementwise)

Backward, g = γ·∂E/∂y and the means over the same axes:

    layer norm:  ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε)
    RMS norm:    ∂E/∂x = (g − x̂·mean(g·x̂))/√(mean(x²) + ε)

`standardized` and `standardized_backward` are the shared core, also used by group and
instance normalisation (`group_norm.py`): a group is whatever set of axes is averaged over.
"""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype


def standardized(x: np.ndarray, axes: tuple[int, ...], eps: float, centred: bool = True):
    """x̂ = (x − μ)/√(σ² + ε) over `axes` (centred), or x/√(mean(x²) + ε) (not centred).

    Returns (x̂, 1/√(σ² + ε)), the second with size 1 on `axes`. A negative ε larger than
    σ² gives NaN, as torch's.
    """
    d = x - x.mean(axis=axes, keepdims=True) if centred else x  # x − μ
    var = np.mean(d * d, axis=axes, keepdims=True)  # σ², biased (or mean(x²))
    with np.errstate(invalid="ignore", divide="ignore"):  # σ² + ε ≤ 0: NaN/∞ as torch's
        inv_std = 1 / np.sqrt(var + eps)
    return d * inv_std, inv_std


def standardized_backward(g, x, axes: tuple[int, ...], eps: float, centred: bool = True):
    """∂E/∂x of x̂ = standardized(x, axes, eps, centred) from g = ∂E/∂x̂.

    ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε) (no mean(g) when not centred). Written
    with x̂ = c·u, u = (x − μ)/σ, c² = σ²/(σ² + ε): the part left after the projection,
    (1 − c²)·u·mean(g·u) with 1 − c² = ε/(σ² + ε), is computed directly rather than as a
    difference of terms that nearly cancel in small groups. Where a group has as few values
    as constraints (two values centred, one not) g lies in span{1, u}: the projection
    g − mean(g) − u·mean(g·u) is exactly 0 there and is not left to rounding.
    """
    d = x - x.mean(axis=axes, keepdims=True) if centred else x  # x − μ
    var = np.mean(d * d, axis=axes, keepdims=True)  # σ²
    sigma = np.sqrt(var)
    u = np.divide(d, sigma, out=np.zeros_like(d), where=sigma > 0)  # (x − μ)/σ, 0 if σ = 0
    g_u = np.mean(g * u, axis=axes, keepdims=True)  # mean(g·u)
    projection = g - u * g_u  # g − u·mean(g·u)
    if centred:
        projection = projection - np.mean(g, axis=axes, keepdims=True)  # − mean(g)
    values = int(np.prod([x.shape[a] for a in axes]))
    if values <= (2 if centred else 1):  # g ∈ span{1, u} wherever σ > 0
        projection = np.where(sigma > 0, 0.0, projection)
    with np.errstate(invalid="ignore", divide="ignore"):  # σ² + ε ≤ 0: NaN/∞ as torch's
        inv_std = 1 / np.sqrt(var + eps)
        rest = eps / (var + eps) * u * g_u  # (1 − c²)·u·mean(g·u)
    return ((projection + rest) * inv_std).astype(x.dtype, copy=False)


def _trailing_axes(x, normalized_shape, weight, bias, name: str) -> tuple[int, ...]:
    """Check the arguments of layer_norm / rms_norm; return the axes normalised over."""
    x = as_float_array(x, "x")
    if not isinstance(normalized_shape, tuple | list) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in normalized_shape
    ):
        raise TypeError(
            f"{name}: normalized_shape must be a tuple of ints, e.g. ({x.shape[-1] if x.ndim else 1},) "
            f"for the last axis (as torch's functional form; its modules take an int), got "
            f"{normalized_shape!r}"
        )
    shape = tuple(int(s) for s in normalized_shape)
    if not shape:
        raise ValueError(
            f"{name}: normalized_shape must name at least one trailing axis of x {x.shape}, got ()"
        )
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"{name}: normalized_shape {shape} must equal the last {len(shape)} axes of x, "
            f"got x of shape {x.shape}"
        )
    for arg, v in (("weight", weight), ("bias", bias)):
        if v is not None:
            as_float_array(v, arg)
            if v.shape != shape:
                raise ValueError(
                    f"{name}: {arg} must have shape normalized_shape {shape}, got {v.shape}"
                )
    same_dtype(x=x, weight=weight, bias=bias)
    return tuple(range(x.ndim - len(shape), x.ndim))


def _batch_axes(x, axes) -> tuple[int, ...]:
    return tuple(range(x.ndim - len(axes)))  # every axis of x before normalized_shape


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5) -> np.ndarray:
    """Layer normalisation over the trailing axes, as `torch.nn.functional.layer_norm`.

    NRM-1: y = γ·(x − μ)/√(σ² + ε) + β, μ and σ² (biased) over the last
    len(normalized_shape) axes of each sample.

    Args:
        x: (*, *normalized_shape), e.g. (N, C, H, W) with normalized_shape (C, H, W).
        normalized_shape: tuple of ints, the trailing axes normalised over.
        weight γ, bias β: normalized_shape, or None.
        eps: added to the variance.

    Shape:
        y: x's shape.
    """
    axes = _trailing_axes(x, normalized_shape, weight, bias, "layer_norm")
    xhat, _ = standardized(x, axes, eps)  # NRM-1: x̂ = (x − μ)/√(σ² + ε)
    y = xhat if weight is None else xhat * weight  # γ·x̂
    return (y if bias is None else y + bias).astype(x.dtype, copy=False)  # + β


def layer_norm_backward(dy, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Gradients of `layer_norm`: (dx, dweight, dbias), dweight/dbias None where γ/β are.

    NRM-1: ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε), g = γ·dy;
    ∂E/∂γ = Σ dy·x̂, ∂E/∂β = Σ dy over the leading (batch) axes.

    Shape:
        dx: x's shape; dweight, dbias: normalized_shape.
    """
    axes = _trailing_axes(x, normalized_shape, weight, bias, "layer_norm_backward")
    dy = as_float_array(dy, "dy")
    check_grad_shape(dy, x.shape)
    g = dy if weight is None else dy * weight  # g = γ·∂E/∂y
    dx = standardized_backward(g, x, axes, eps)  # NRM-1
    batch = _batch_axes(x, axes)
    dw = None if weight is None else (dy * standardized(x, axes, eps)[0]).sum(axis=batch)
    db = None if bias is None else dy.sum(axis=batch)
    return dx, dw, db


def _rms_eps(x: np.ndarray, eps) -> float:
    """torch's rule: eps None is the machine epsilon of x's dtype."""
    return float(np.finfo(x.dtype).eps) if eps is None else eps


def rms_norm(x, normalized_shape, weight=None, eps=None) -> np.ndarray:
    """RMS normalisation over the trailing axes, as `torch.nn.functional.rms_norm`.

    NRM-2: y = γ·x/√(mean(x²) + ε), the mean over the last len(normalized_shape) axes.

    Args:
        x: (*, *normalized_shape).
        normalized_shape: tuple of ints.
        weight γ: normalized_shape, or None.
        eps: added to mean(x²); None means the machine epsilon of x's dtype, as torch
            (2.2e-16 in float64, 1.2e-7 in float32).

    Shape:
        y: x's shape.
    """
    axes = _trailing_axes(x, normalized_shape, weight, None, "rms_norm")
    xhat, _ = standardized(x, axes, _rms_eps(x, eps), centred=False)  # NRM-2: x/√(mean(x²) + ε)
    return (xhat if weight is None else xhat * weight).astype(x.dtype, copy=False)  # γ·x̂


def rms_norm_backward(dy, x, normalized_shape, weight=None, eps=None):
    """Gradients of `rms_norm`: (dx, dweight), dweight None without γ.

    NRM-2: ∂E/∂x = (g − x̂·mean(g·x̂))/√(mean(x²) + ε), g = γ·dy; ∂E/∂γ = Σ dy·x̂ over
    the leading axes.

    Shape:
        dx: x's shape; dweight: normalized_shape.
    """
    axes = _trailing_axes(x, normalized_shape, weight, None, "rms_norm_backward")
    dy = as_float_array(dy, "dy")
    check_grad_shape(dy, x.shape)
    eps = _rms_eps(x, eps)
    g = dy if weight is None else dy * weight
    dx = standardized_backward(g, x, axes, eps, centred=False)  # NRM-2
    xhat = standardized(x, axes, eps, centred=False)[0]
    return dx, None if weight is None else (dy * xhat).sum(axis=_batch_axes(x, axes))
