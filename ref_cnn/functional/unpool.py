"""Max unpooling: put each pooled maximum back where it came from [IC-8, MB-8].

`max_pool2d(x, …, return_indices=True)` (or `adaptive_max_pool2d`) also returns, for every
window, the flat position h·W + w of its maximum in the (H, W) plane. `max_unpool2d` is
the scatter IC-8's backward pass performs with δ, applied to values: every other position
of the output is 0.

    y[n, c, index[n, c, i, j]] = x[n, c, i, j]   (on the flattened (H_out·W_out) plane)

Its gradient reads each output gradient back at the same positions (a gather).
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, batched, check_grad_shape, pair, same_dtype, unbatch


def unpool_output_size(x_hw, kernel, stride, padding, output_size) -> tuple[int, int]:
    """(H_out, W_out): (H − 1)·s − 2p + k by default (the input size of the pooling), or
    `output_size` ((H, W) or (N, C, H, W)), which must lie strictly within one stride of it."""
    default = tuple(
        (n - 1) * s - 2 * p + k for n, k, s, p in zip(x_hw, kernel, stride, padding, strict=True)
    )
    if output_size is None:
        out = default
    else:
        if not isinstance(output_size, tuple | list) or len(output_size) not in (2, 4):
            raise ValueError(
                f"output_size must be (H, W) or (N, C, H, W), as torch, got {output_size!r}"
            )
        out = tuple(int(v) for v in output_size[-2:])
        for a in (0, 1):
            if not default[a] - stride[a] < out[a] < default[a] + stride[a]:
                raise ValueError(
                    f"output_size {out} must lie strictly between {default[a] - stride[a]} and "
                    f"{default[a] + stride[a]} in dimension {a} (the pooled input's size "
                    f"{default[a]} ± stride {stride[a]}), as torch"
                )
    if min(out) < 1:
        raise ValueError(f"the unpooled output would have size {out}; check the padding")
    return out


def _setup(x, indices, kernel_size, stride, padding, output_size):
    x4, added = batched(x)
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64:
        raise TypeError(
            "indices must be an int64 numpy.ndarray (from max_pool2d(..., return_indices=True)), "
            f"got {getattr(indices, 'dtype', type(indices).__name__)}"
        )
    if indices.shape != x.shape:
        raise ValueError(f"indices must have x's shape {x.shape}, got {indices.shape}")
    k = pair(kernel_size, "kernel_size", 1)
    s = k if stride is None else pair(stride, "stride", 1)
    p = pair(padding, "padding", 0)
    out = unpool_output_size(x4.shape[2:], k, s, p, output_size)
    flat = indices.reshape(x4.shape[0] * x4.shape[1], -1)  # (N·C, H·W)
    if flat.size and (flat.min() < 0 or flat.max() >= out[0] * out[1]):
        raise ValueError(
            f"indices must lie in [0, {out[0] * out[1]}) for an output of size {out}; "
            f"found {flat.min()}..{flat.max()}"
        )
    return x4, added, out, flat


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max pooling, as `torch.nn.functional.max_unpool2d` [IC-8, MB-8].

    y[n, c, index // W_out, index % W_out] = x[n, c, i, j] with index = indices[n, c, i, j];
    y is 0 everywhere else.

    Args:
        x: (N, C, H, W) or unbatched (C, H, W): the pooled values.
        indices: int64, x's shape: flat positions h·W_out + w, as max_pool2d returns them.
        kernel_size, stride (None → kernel_size), padding: those of the pooling.
        output_size: (H_out, W_out) or (N, C, H_out, W_out) to pick among the input sizes
            that pool to H (within one stride of the default).

    Shape:
        y: (N, C, H_out, W_out), H_out = (H − 1)·s − 2p + k by default.
    """
    x4, added, out, flat = _setup(x, indices, kernel_size, stride, padding, output_size)
    n, c = x4.shape[:2]
    y = np.zeros((n * c, out[0] * out[1]), dtype=x4.dtype)
    rows = np.arange(n * c)[:, None]  # (N·C, 1), broadcast along each plane's indices
    y[rows, flat] = x4.reshape(n * c, -1)  # IC-8: each value back to its maximum's place
    return unbatch(y.reshape(n, c, *out), added)


def max_unpool2d_backward(dy, x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Gradient of `max_unpool2d`: dx[n, c, i, j] = dy at the position indices[n, c, i, j]."""
    x4, added, out, flat = _setup(x, indices, kernel_size, stride, padding, output_size)
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=x4)
    n, c = x4.shape[:2]
    check_grad_shape(dy, (*x.shape[:-2], *out))
    dflat = dy.reshape(n * c, -1)
    return unbatch(np.take_along_axis(dflat, flat, axis=1).reshape(x4.shape), added)
