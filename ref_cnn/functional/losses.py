"""Losses and their gradients [AV-8, MB-13].

Every loss returns a scalar (a 0-d array of the input's dtype), or with reduction="none"
the per-element losses, and has a `_backward` returning ∂E/∂(prediction) for an upstream
gradient `dloss` (1 by default; an array of the per-element shape for "none").
Options follow torch's: `weight`, and for cross-entropy class-index or probability targets,
any trailing axes (N, C, d1, …), `ignore_index` and `label_smoothing`. The gradient with
respect to the target, where torch has one, comes with `return_target_grad=True`.
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_mode, same_dtype
from ref_cnn.functional.activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def _check_pair(o, y, o_name="o", y_name="y") -> None:
    as_float_array(o, o_name)
    as_float_array(y, y_name)
    same_dtype(**{o_name: o, y_name: y})
    if o.shape != y.shape:
        raise ValueError(f"{o_name} {o.shape} and {y_name} {y.shape} must have the same shape")


def _reduce(per_element: np.ndarray, reduction: str, count=None) -> np.ndarray:
    """Σ, mean (Σ/count, count = the number of elements unless given) or the elements."""
    check_mode(reduction, REDUCTIONS, "reduction")
    if reduction == "none":
        return per_element
    total = per_element.sum()
    if reduction == "sum":
        return total
    return total / (per_element.size if count is None else count)


def _upstream(dloss, reduction: str, shape, dtype, count=None) -> np.ndarray:
    """The upstream gradient of every per-element loss: dloss/count for the mean, dloss for
    the sum, dloss itself (of the per-element shape) for "none"."""
    check_mode(reduction, REDUCTIONS, "reduction")
    if reduction == "none":
        d = np.asarray(dloss, dtype=dtype)
        if d.shape != tuple(shape):
            d = np.broadcast_to(d, shape)
        return d
    n = int(np.prod(shape)) if count is None else count
    return np.full(shape, float(dloss) / (n if reduction == "mean" else 1), dtype=dtype)


def half_squared_error(o, y) -> np.ndarray:
    """AV's error E = Σ (y′ − O)²/2 over all outputs and samples [AV-8]."""
    _check_pair(o, y)
    return np.sum(np.square(y - o)) / 2  # AV-8: (y′ − O)²/2


def half_squared_error_backward(o, y, dloss=1.0) -> np.ndarray:
    """∂E/∂O = −(y′ − O) [AV-8]."""
    _check_pair(o, y)
    return -(y - o) * o.dtype.type(dloss)  # AV-8: ∂E/∂O = −(y′ − O)


def mse_loss(o, y, reduction: str = "mean") -> np.ndarray:
    """Mean squared error (1/m)·Σ (o − y)² [MB-13], as `torch.nn.functional.mse_loss`."""
    _check_pair(o, y)
    return _reduce(np.square(o - y), reduction)  # MB-13: (1/m)·Σ (o − y)²


def mse_loss_backward(o, y, reduction: str = "mean", dloss=1.0, *, return_target_grad=False):
    """∂J/∂o = 2(o − y)·upstream; ∂J/∂y = −∂J/∂o (with return_target_grad, as a pair)."""
    _check_pair(o, y)
    do = 2 * (o - y) * _upstream(dloss, reduction, o.shape, o.dtype)
    return (do, -do) if return_target_grad else do


def binary_cross_entropy(p, y, reduction: str = "mean", *, weight=None) -> np.ndarray:
    """−w·[y·log p + (1 − y)·log(1 − p)], logs clamped at −100 as torch does [MB-13].

    Args:
        p: probabilities in [0, 1] (e.g. a sigmoid output), any shape.
        y: targets of p's shape.
        weight: None or an array broadcastable to p's shape (torch's rescaling weight).
    """
    _check_pair(p, y, "p", "y")
    w = _bce_weight(weight, p)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1] (apply sigmoid first)")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100)  # torch clamps log(0) = −∞ to −100
        log_1mp = np.maximum(np.log1p(-p), -100)
    return _reduce(-w * (y * log_p + (1 - y) * log_1mp), reduction)  # MB-13: (1/m)·Σ L


def _bce_weight(weight, p):
    if weight is None:
        return p.dtype.type(1)
    as_float_array(weight, "weight")
    try:
        np.broadcast_shapes(weight.shape, p.shape)
    except ValueError:
        raise ValueError(
            f"weight of shape {weight.shape} must broadcast to p's shape {p.shape}"
        ) from None
    return weight.astype(p.dtype, copy=False)


def binary_cross_entropy_backward(
    p, y, reduction: str = "mean", dloss=1.0, *, weight=None, return_target_grad=False
):
    """∂J/∂p = w·(p − y)/max(p(1 − p), ε), torch's formula (finite at p ∈ {0, 1}).

    With return_target_grad: (∂J/∂p, ∂J/∂y), ∂J/∂y = −w·logit(p) = w·(log(1 − p) − log p).
    """
    _check_pair(p, y, "p", "y")
    w = _bce_weight(weight, p)
    up = _upstream(dloss, reduction, p.shape, p.dtype)
    # torch's ε is the float32 value of 1e−12 (9.99999996e−13), also in float64
    dp = w * (p - y) / np.maximum(p * (1 - p), p.dtype.type(np.float32(1e-12))) * up
    if not return_target_grad:
        return dp
    with np.errstate(divide="ignore"):
        dy = -w * np.log(p / (1 - p)) * up
    return dp, dy


def _class_axis(logits: np.ndarray) -> int:
    """torch's class axis: 0 for one unbatched sample (C,), else 1 of (N, C, d1, …)."""
    return 0 if logits.ndim == 1 else 1


def _check_targets(logits, target, weight) -> bool:
    """Validate; return True for class-index targets, False for class probabilities."""
    as_float_array(logits, "logits")
    if logits.ndim == 0:
        raise ValueError("logits must be (C,), (N, C) or (N, C, d1, …), got a 0-D array")
    axis = _class_axis(logits)
    c = logits.shape[axis]
    if weight is not None:
        as_float_array(weight, "weight", ndim=1)
        if weight.shape != (c,):
            raise ValueError(f"weight must have shape ({c},) (one per class), got {weight.shape}")
    if not isinstance(target, np.ndarray):
        raise TypeError(
            "target must be a numpy.ndarray (class indices or probabilities), got "
            f"{type(target).__name__}: convert it with np.asarray(target)"
        )
    expected = logits.shape[:axis] + logits.shape[axis + 1 :]
    if target.dtype.kind == "f":
        if target.shape == expected and target.shape != logits.shape:
            raise TypeError(
                f"target of shape {target.shape} holds floats: class indices must be an "
                f"integer array; class probabilities must have logits' shape {logits.shape}"
            )
        same_dtype(logits=logits, target=target)
        if target.shape != logits.shape:
            raise ValueError(
                f"probability targets must have logits' shape {logits.shape}, got {target.shape}"
            )
        return False
    if target.dtype.kind not in "iu":
        raise TypeError("target must hold integer class indices or float class probabilities")
    if target.shape != expected:
        raise ValueError(f"class-index target must have shape {expected}, got {target.shape}")
    return True


def _cross_entropy_parts(logits, target, weight, ignore_index, label_smoothing):
    """log-probabilities, per-class weights broadcast, and for index targets the mask of
    counted elements and their denominators."""
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    indices = _check_targets(logits, target, weight)
    axis = _class_axis(logits)
    c = logits.shape[axis]
    lsm = log_softmax(logits, axis=axis)
    shape = [1] * logits.ndim
    shape[axis] = c
    w = np.ones(shape, logits.dtype) if weight is None else weight.reshape(shape)
    return indices, axis, c, lsm, w


def _index_parts(logits, target, axis, c, w, ignore_index):
    kept = target != ignore_index  # elements that count
    t = np.where(kept, target, 0)
    if np.any(t < 0) or np.any(t >= c):
        raise ValueError(f"target holds class indices outside [0, {c}) (and not ignore_index)")
    onehot = np.moveaxis(np.eye(c, dtype=logits.dtype)[t], -1, axis)  # (…, C, …) like logits
    w_t = np.sum(onehot * w, axis=axis) * kept  # w[target] of each counted element
    return kept, onehot, w_t


def cross_entropy(
    logits, target, reduction: str = "mean", *, weight=None, ignore_index=-100, label_smoothing=0.0
) -> np.ndarray:
    """Softmax cross-entropy J = (1/m)·Σ_i −log softmax(z_i)[y_i] [MB-13], torch's options.

    Args:
        logits: (N, C), (C,) or (N, C, d1, …) scores (before softmax); classes on axis 1.
        target: integer class indices (N,) / () / (N, d1, …), or float class probabilities
            of logits' shape.
        weight: (C,) class weights or None; with index targets the mean divides by
            Σ weight[y_i] over the counted elements, as torch.
        ignore_index: index targets equal to it count for nothing (not in the mean either).
        label_smoothing ε: the target becomes (1 − ε)·target + ε/C.
    """
    indices, axis, c, lsm, w = _cross_entropy_parts(
        logits, target, weight, ignore_index, label_smoothing
    )
    eps = logits.dtype.type(label_smoothing)
    smooth = -np.sum(w * lsm, axis=axis) * (eps / c)  # the ε/C share on every class
    if indices:
        kept, onehot, w_t = _index_parts(logits, target, axis, c, w, ignore_index)
        picked = -np.sum(onehot * lsm, axis=axis) * w_t  # −w[y]·log softmax(z)[y]
        per = (1 - eps) * picked + smooth * kept
        return _reduce(per, reduction, count=w_t.sum())  # MB-13: (1/m)·Σ L(ŷ_i, y_i)
    per = -np.sum(w * target * lsm, axis=axis) * (1 - eps) + smooth
    return _reduce(per, reduction)


def cross_entropy_backward(
    logits,
    target,
    reduction: str = "mean",
    dloss=1.0,
    *,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    return_target_grad=False,
):
    """∂J/∂z = (softmax(z)·Σ_c g_c − g)/m, g the (weighted, smoothed) target: for one-hot
    targets without options (softmax(z) − onehot(y))/m.

    With return_target_grad (probability targets only): (∂J/∂z, ∂J/∂target),
    ∂J/∂target_c = −(1 − ε)·w_c·log softmax(z)_c / m.
    """
    indices, axis, c, lsm, w = _cross_entropy_parts(
        logits, target, weight, ignore_index, label_smoothing
    )
    eps = logits.dtype.type(label_smoothing)
    if indices:
        kept, onehot, w_t = _index_parts(logits, target, axis, c, w, ignore_index)
        up = _upstream(dloss, reduction, target.shape, logits.dtype, count=w_t.sum())
        # ∂J/∂lsm: −(1 − ε)·w[y] at the target class, −ε/C·w_c on every class
        g = (1 - eps) * onehot * np.expand_dims(w_t, axis) + (eps / c) * w * np.expand_dims(
            kept, axis
        )
    else:
        up = _upstream(dloss, reduction, lsm.sum(axis=axis).shape, logits.dtype)
        g = w * ((1 - eps) * target + eps / c)
    g = g * np.expand_dims(up, axis)
    dz = np.exp(lsm) * np.sum(g, axis=axis, keepdims=True) - g  # back through log softmax
    if not return_target_grad:
        return dz
    if indices:
        raise ValueError(
            "class-index targets have no gradient; return_target_grad needs probabilities"
        )
    return dz, -(1 - eps) * w * lsm * np.expand_dims(up, axis)
