"""Work buffers reused from call to call: the column matrices and their products.

A fresh 70 MiB column matrix costs about as much in page faults (the kernel zeroing new
memory) as the copy that fills it, so conv2d builds its intermediates in buffers kept
from the previous call instead. Nothing returned to a caller ever lives in one of them:
outputs and gradients are always fresh arrays, so a layer's result can't be overwritten by
the next layer's call (tested with two layers interleaved). Buffers are per thread and per
dtype, grow to the largest request and stay until `release()`.
"""

from __future__ import annotations

import threading

import numpy as np

_LOCAL = threading.local()


def scratch(role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of `shape`, a view of the buffer for `role` (one role per
    intermediate of a call: two live intermediates must not share a role)."""
    pool = _LOCAL.__dict__.setdefault("pool", {})
    key = (role, np.dtype(dtype).str)
    size = int(np.prod(shape, dtype=np.int64))
    buf = pool.get(key)
    if buf is None or buf.size < size:
        pool[key] = buf = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def held_bytes() -> int:
    """Bytes this thread's buffers hold."""
    return sum(buf.nbytes for buf in _LOCAL.__dict__.get("pool", {}).values())


def release() -> None:
    """Free this thread's buffers (the next call allocates them again)."""
    _LOCAL.__dict__.pop("pool", None)
