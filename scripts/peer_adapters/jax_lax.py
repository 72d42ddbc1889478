"""JAX's lax and jnp ops; the kit takes their gradients with jax.vjp."""

from __future__ import annotations

from peer_adapters.common import adapter, only, pair

# ---------------------------------------- JAX: lax, gradients by the kit's jax.vjp


@adapter
def jax_pad(x, pad, mode="constant", value=None):
    """jnp.pad: torch's flat (before_last, after_last, …) widths as per-axis pairs; torch's
    reflect / replicate / circular are NumPy's reflect / edge / wrap."""
    import jax.numpy as jnp

    only("negative widths (crops)", min(pad) >= 0)
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if mode == "constant":
        return jnp.pad(x, widths, constant_values=0.0 if value is None else value)
    return jnp.pad(
        x, widths, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    )


@adapter
def jax_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    from jax import lax

    pads = {"valid": "VALID", "same": "SAME"}.get(padding) if isinstance(padding, str) else None
    if pads is None:
        pads = [(p, p) for p in pair(padding)]
    y = lax.conv_general_dilated(
        x,
        w,
        window_strides=pair(stride),
        padding=pads,
        rhs_dilation=pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
    )
    return y if b is None else y + b[None, :, None, None]


def _jax_window(kernel_size, stride, padding, ceil_mode):
    only("ceil_mode (lax has no such option)", not ceil_mode)
    k = pair(kernel_size)
    s = k if stride is None else pair(stride)
    p = pair(padding)
    return (1, 1, *k), (1, 1, *s), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))


@adapter
def jax_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    import jax.numpy as jnp
    from jax import lax

    window, strides, pads = _jax_window(kernel_size, stride, padding, ceil_mode)
    return lax.reduce_window(
        x, -jnp.inf, lax.max, window, strides, pads, window_dilation=(1, 1, *pair(dilation))
    )


@adapter
def jax_avg_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    import jax.numpy as jnp
    from jax import lax

    window, strides, pads = _jax_window(kernel_size, stride, padding, ceil_mode)
    total = lax.reduce_window(x, 0.0, lax.add, window, strides, pads)
    if divisor_override:
        return total / divisor_override
    if count_include_pad:
        return total / (window[2] * window[3])
    count = lax.reduce_window(jnp.ones_like(x), 0.0, lax.add, window, strides, pads)
    return total / count  # as flax's avg_pool(count_include_pad=False)
