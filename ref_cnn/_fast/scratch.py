"""Work buffers reused from call to call: the column matrices and their products.

A fresh 70 MiB column matrix costs about as much in page faults (the kernel zeroing new
memory) as the copy that fills it, so conv2d builds its intermediates in buffers kept
from the previous call instead. Nothing returned to a caller ever lives in one of them:
outputs and gradients are always fresh arrays, so a layer's result can't be overwritten by
the next layer's call (tested with two layers interleaved). Buffers are per thread (each of
ref_cnn's worker threads has its own, `ref_cnn._fast.threads`) and per dtype, grow to the largest
request and stay until `release()`. Each buffer has one role (conv's: "padded", "cols",
"outputs", "delta", "column_grads", "padded_grads", "x_channels"): no kernel hands a spent
buffer to a second intermediate, so reordering calls can't overwrite a live array.
"""

from __future__ import annotations

import math
import threading

import numpy as np

_POOLS: dict[int, dict] = {}  # thread id → {(role, dtype): buffer}


def scratch(role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of `shape`, a view of this thread's buffer for `role` (one role
    per intermediate of a call: two live intermediates must not share a role)."""
    pool = _POOLS.setdefault(threading.get_ident(), {})
    key = (role, np.dtype(dtype).str)
    size = math.prod(shape)
    buf = pool.get(key)
    if buf is None or buf.size < size:
        pool[key] = buf = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def held_buffers() -> list[np.ndarray]:
    """Every thread's buffers."""
    return [buf for pool in list(_POOLS.values()) for buf in list(pool.values())]


def held_bytes() -> int:
    """Bytes every thread's buffers hold."""
    return sum(buf.nbytes for buf in held_buffers())


def release() -> None:
    """Free every thread's buffers (the next call allocates them again). Call it while no
    ref_cnn op is running in another thread."""
    _POOLS.clear()
