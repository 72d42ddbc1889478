"""Group normalisation and instance normalisation of (N, C, *) inputs [NRM-3, NRM-4].

Group norm cuts the C channels of each sample into G groups of C/G and normalises each
group over its channels and positions; instance norm normalises each (sample, channel)
plane over its positions (G = C), or, with `use_input_stats=False`, uses running
statistics per channel as batch norm's eval mode:

    x̂ = (x − μ)/√(σ² + ε),  μ, σ² (biased) over the group,  y = γ_c·x̂ + β_c

The backward pass is layer norm's, over the group (`layer_norm.standardized_backward`).
"""

from __future__ import annotations

import numbers

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, same_dtype
from ref_cnn.functional.layer_norm import standardized, standardized_backward


def _per_channel(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))  # (C,) → (1, C, 1, …)


def _check_channels(x, name: str, **per_channel) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"{name}: x must be (N, C, *) with a channel axis, got shape {x.shape}")
    for arg, v in per_channel.items():
        if v is not None:
            as_float_array(v, arg)
            if v.shape != (x.shape[1],):
                raise ValueError(
                    f"{name}: {arg} must have shape ({x.shape[1]},) (one per channel), got {v.shape}"
                )
    same_dtype(x=x, **per_channel)
    return x


def _check_groups(x, num_groups, name: str) -> None:
    if not isinstance(num_groups, numbers.Integral) or isinstance(num_groups, bool):
        raise TypeError(f"{name}: num_groups must be an int, got {num_groups!r}")
    n, c, spatial = x.shape[0], x.shape[1], int(np.prod(x.shape[2:]))
    if c == 0 or spatial == 0:
        raise ValueError(f"{name}: x needs channels and positions, got shape {x.shape}")
    if num_groups <= 0 or c % num_groups:
        raise ValueError(
            f"{name}: num_groups must be a positive divisor of the {c} channels, got {num_groups}"
        )
    if n * (c // num_groups) * spatial == 1:  # torch's rule (F.group_norm)
        raise ValueError(
            f"{name}: expected more than one value per channel, got shape {x.shape} and "
            f"{num_groups} groups"
        )


def _grouped(a: np.ndarray, num_groups: int) -> np.ndarray:
    n, c = a.shape[:2]
    return a.reshape(n, num_groups, c // num_groups * int(np.prod(a.shape[2:])))  # (N, G, C/G·L)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5) -> np.ndarray:
    """Group normalisation, as `torch.nn.functional.group_norm`.

    NRM-3: y = γ_c·(x − μ)/√(σ² + ε) + β_c, μ and σ² (biased) over the C/G channels of
    x's group and all their positions, per sample.

    Args:
        x: (N, C, *), C divisible by num_groups.
        num_groups: G, the number of groups of C/G channels.
        weight γ, bias β: (C,) or None.
        eps: added to the variance.

    Shape:
        y: x's shape.
    """
    x = _check_channels(x, "group_norm", weight=weight, bias=bias)
    _check_groups(x, num_groups, "group_norm")
    xhat = standardized(_grouped(x, num_groups), (2,), eps)[0].reshape(x.shape)  # NRM-3
    y = xhat if weight is None else xhat * _per_channel(weight, x)  # γ_c·x̂
    return (y if bias is None else y + _per_channel(bias, x)).astype(x.dtype, copy=False)


def _sum_but_channels(a: np.ndarray) -> np.ndarray:
    return a.sum(axis=(0, *range(2, a.ndim)))  # over N and the positions: (C,)


def group_norm_backward(dy, x, num_groups, weight=None, bias=None, eps=1e-5):
    """Gradients of `group_norm`: (dx, dweight, dbias), dweight/dbias None where γ/β are.

    NRM-3: ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε) over each group, g = γ_c·dy;
    ∂E/∂γ_c = Σ dy·x̂ and ∂E/∂β_c = Σ dy over N and the positions.

    Shape:
        dx: x's shape; dweight, dbias: (C,).
    """
    x = _check_channels(x, "group_norm_backward", weight=weight, bias=bias)
    _check_groups(x, num_groups, "group_norm_backward")
    dy = as_float_array(dy, "dy")
    check_grad_shape(dy, x.shape)
    g = dy if weight is None else dy * _per_channel(weight, x)  # g = γ_c·∂E/∂y
    xg = _grouped(x, num_groups)
    dx = standardized_backward(_grouped(g, num_groups), xg, (2,), eps)  # NRM-3, per group
    dx = dx.reshape(x.shape)
    xhat = standardized(xg, (2,), eps)[0].reshape(x.shape)
    dw = None if weight is None else _sum_but_channels(dy * xhat)
    db = None if bias is None else _sum_but_channels(dy)
    return dx, dw, db


def _check_instance(x, running_mean, running_var, weight, bias, use_input_stats, name):
    x = _check_channels(
        x, name, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias
    )
    if not use_input_stats and (running_mean is None or running_var is None):
        raise ValueError(f"{name}: use_input_stats=False needs running_mean and running_var")
    if use_input_stats and int(np.prod(x.shape[2:])) <= 1:
        raise ValueError(
            f"{name}: normalising each instance needs more than one position, got shape "
            f"{x.shape}; pass x as (N, C, H, W) or (N, C, L)"
        )
    return x


def instance_norm(
    x,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
) -> np.ndarray:
    """Instance normalisation, as `torch.nn.functional.instance_norm`.

    NRM-4: y = γ_c·(x − μ)/√(σ² + ε) + β_c, μ and σ² (biased) over the positions of each
    (sample, channel) plane when `use_input_stats`, else the running statistics (C,).

    Args:
        x: (N, C, *) with more than one position when use_input_stats.
        running_mean, running_var: (C,) or None; needed when not use_input_stats.
        weight γ, bias β: (C,) or None.
        use_input_stats: normalise with each plane's own statistics.
        momentum: accepted for torch's signature. No function modifies its inputs, so the
            running statistics are NOT updated here (torch updates them in place when
            use_input_stats); `instance_norm_running(x, running_mean, running_var,
            momentum)` returns the updated pair.
        eps: added to the variance.

    Shape:
        y: x's shape.
    """
    x = _check_instance(
        x, running_mean, running_var, weight, bias, use_input_stats, "instance_norm"
    )
    if use_input_stats:
        xhat = standardized(x, tuple(range(2, x.ndim)), eps)[0]  # NRM-4
    else:
        xhat = (x - _per_channel(running_mean, x)) / _per_channel(np.sqrt(running_var + eps), x)
    y = xhat if weight is None else xhat * _per_channel(weight, x)
    return (y if bias is None else y + _per_channel(bias, x)).astype(x.dtype, copy=False)


def instance_norm_backward(
    dy,
    x,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    """Gradients of `instance_norm`: (dx, dweight, dbias), dweight/dbias None where γ/β are.

    NRM-4: ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε) per plane, g = γ_c·dy (with the
    running statistics: g/√(running_var + ε)); ∂E/∂γ_c = Σ dy·x̂, ∂E/∂β_c = Σ dy. The
    running statistics are buffers, not differentiated (as `batch_norm_backward`).

    Shape:
        dx: x's shape; dweight, dbias: (C,).
    """
    x = _check_instance(
        x, running_mean, running_var, weight, bias, use_input_stats, "instance_norm_backward"
    )
    dy = as_float_array(dy, "dy")
    check_grad_shape(dy, x.shape)
    g = dy if weight is None else dy * _per_channel(weight, x)
    if use_input_stats:
        axes = tuple(range(2, x.ndim))
        dx = standardized_backward(g, x, axes, eps)  # NRM-4
        xhat = standardized(x, axes, eps)[0]
    else:
        inv_std = _per_channel(1 / np.sqrt(running_var + eps), x)
        dx = g * inv_std  # NRM-4 with the running statistics: γ_c·dy/√(r_σ² + ε)
        xhat = (x - _per_channel(running_mean, x)) * inv_std
    dw = None if weight is None else _sum_but_channels(dy * xhat)
    db = None if bias is None else _sum_but_channels(dy)
    return dx.astype(x.dtype, copy=False), dw, db


def instance_norm_running(x, running_mean, running_var, momentum=0.1):
    """The running statistics after `instance_norm(x, running_mean, running_var, …,
    use_input_stats=True, momentum)`, as torch leaves them in place; new arrays.

    NRM-4: r_μ ← (1 − m)·r_μ + m·mean_n(μ_nc), r_σ² ← (1 − m)·r_σ² + m·mean_n(σ²_nc·L/(L − 1)),
    μ_nc, σ²_nc the statistics of plane (n, c), L its number of positions (the unbiased
    variance, as batch norm's).

    Shape:
        x: (N, C, *); running_mean, running_var and the results: (C,).
    """
    x = _check_instance(x, running_mean, running_var, None, None, True, "instance_norm_running")
    if running_mean is None or running_var is None:
        raise ValueError("instance_norm_running needs running_mean and running_var arrays")
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes).mean(axis=0)  # mean over n of μ_nc
    var = x.var(axis=axes, ddof=1).mean(axis=0)  # mean over n of σ²_nc·L/(L − 1)
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var
    return new_mean.astype(x.dtype, copy=False), new_var.astype(x.dtype, copy=False)
