"""The one switch that chooses how ops are computed, and the one table that lists the choices.

Every op in `ref_cnn.functional` is defined by its readable equation. Some ops also have
faster implementations of the same equation; they are listed in `IMPLEMENTATIONS` below and
nowhere else, and an op asks for its implementation with `alternative(op)`. The sets are:

- ``"readable"``: no alternative; every op runs its readable equation (slow, the definition);
- ``"numpy"``: the tuned NumPy kernels (column matrices, BLAS, threads, work buffers);
- ``"numba"``: the compiled kernels (``pip install "ref_cnn[fast]"``), falling back to the
  tuned NumPy ones for an op or a case they do not cover.

The choice is, in this order of precedence: a `using(name)` block (in this thread); the last
`set_kernels(name)`; the environment variable ``REF_CNN_KERNELS``; otherwise ``"numba"`` where
numba is installed and ref_cnn runs more than `AUTO_NUMBA_ABOVE` threads, else ``"numpy"``
(docs/design.md has the measurements). All sets compute the same equations; their sums
run in different orders, so results differ by rounding. One set gives the same bits for
every thread count, so results depend only on the installation and the thread-count setting
that picks the set.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import os
from collections.abc import Callable, Iterator

ENV_VAR = "REF_CNN_KERNELS"
CHOICES = ("readable", "numpy", "numba")
AUTO_NUMBA_ABOVE = 4  # threads; at 4 the two sets are level on a 16-core Xeon (ResNet-18)
_INSTALL = 'pip install "ref_cnn[fast]"'

# op -> {set: "module:function"}: every faster implementation, in one place. Each function
# takes the arguments the op's readable body works on (checked arrays and geometry), and is
# tested equal to the readable body.
IMPLEMENTATIONS: dict[str, dict[str, str]] = {
    # IC-4: y (N, C_out, H_out, W_out) from (x, w, b, ConvGeometry)
    "conv2d": {
        "numpy": "ref_cnn._fast.conv_numpy:correlate",
        "numba": "ref_cnn._fast.conv_numba:correlate",
    },
    # IC-5, IC-6, IC-7: (dx or None, dw, db) from (dy, x, w, ConvGeometry, need_dx)
    "conv2d_backward": {
        "numpy": "ref_cnn._fast.conv_numpy:gradients",
        "numba": "ref_cnn._fast.conv_numba:gradients",
    },
    # IC-8: the window maxima from (x, PoolGeometry)
    "max_pool2d": {
        "numpy": "ref_cnn._fast.pool_numpy:max_pool",
        "numba": "ref_cnn._fast.passes_numba:max_pool",
    },
    # IC-8: dx from (dy, x, PoolGeometry)
    "max_pool2d_backward": {
        "numpy": "ref_cnn._fast.pool_numpy:max_pool_backward",
        "numba": "ref_cnn._fast.passes_numba:max_pool_backward",
    },
    # IC-9: the window sums (before the divisor) from (x, PoolGeometry)
    "avg_pool2d": {"numpy": "ref_cnn._fast.pool_numpy:window_sums"},
    # IC-9: dx from (each window's share δ/|window|, x, PoolGeometry)
    "avg_pool2d_backward": {"numpy": "ref_cnn._fast.pool_numpy:spread"},
    "relu": {"numba": "ref_cnn._fast.passes_numba:relu"},
    "relu_backward": {
        "numpy": "ref_cnn._fast.activations_numpy:relu_backward",
        "numba": "ref_cnn._fast.passes_numba:relu_backward",
    },
    "batch_norm_train": {
        "numpy": "ref_cnn._fast.batchnorm_numpy:batch_norm_train",
        "numba": "ref_cnn._fast.passes_numba:batch_norm_train",
    },
    "batch_norm_train_backward": {
        "numpy": "ref_cnn._fast.batchnorm_numpy:batch_norm_train_backward",
        "numba": "ref_cnn._fast.passes_numba:batch_norm_train_backward",
    },
    "linear": {"numpy": "ref_cnn._fast.linear_numpy:linear"},
    "linear_backward": {"numpy": "ref_cnn._fast.linear_numpy:linear_backward"},
}

_FALLBACK = {"numba": ("numba", "numpy"), "numpy": ("numpy",), "readable": ()}
_choice: str | None = None  # the last set_kernels
_block: contextvars.ContextVar[str | None] = contextvars.ContextVar("ref_cnn_kernels", default=None)


def _checked(name, source: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{source} must be a str, one of {CHOICES}; got {name!r}")
    if name not in CHOICES:
        raise ValueError(f"{source} must be one of {CHOICES}, got {name!r}")
    return name


@functools.cache
def numba_available() -> bool:
    """Whether the compiled kernels load (numba imports, and scipy's BLAS for its np.dot)."""
    try:
        importlib.import_module("ref_cnn._fast.conv_numba")
    except ImportError:
        return False
    return True


def set_kernels(name: str | None) -> None:
    """Compute with the set `name` from now on: "readable", "numpy" or "numba" (None: back
    to the environment variable or the automatic choice)."""
    global _choice
    _choice = None if name is None else _usable(name)


def _usable(name) -> str:
    """`name` checked; for "numba", numba must be installed."""
    name = _checked(name, "the kernels")
    if name == "numba" and not numba_available():
        raise ImportError(f"the compiled kernels need numba: {_INSTALL}")
    return name


def _automatic() -> str:
    from ref_cnn._fast.threads import get_num_threads

    if get_num_threads() > AUTO_NUMBA_ABOVE and numba_available():
        return "numba"
    return "numpy"


def get_kernels() -> str:
    """The set in use: "readable", "numpy" or "numba" (see the module's precedence list)."""
    if _block.get() is not None:
        return _block.get()
    if _choice is not None:
        return _choice
    env = os.environ.get(ENV_VAR, "").strip()
    return _checked(env, f"the environment variable {ENV_VAR}") if env else _automatic()


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    """Compute with the set `name` inside the block, in this thread only (a context variable:
    another thread's calls keep their own choice), then go back to the previous choice."""
    token = _block.set(_usable(name))
    try:
        yield
    finally:
        _block.reset(token)


def compiled() -> bool:
    """Whether the compiled kernels are the chosen set."""
    if get_kernels() != "numba":
        return False
    if not numba_available():
        raise ImportError(f"{ENV_VAR}=numba, but the compiled kernels need numba: {_INSTALL}")
    return True


def _load(target: str) -> Callable:
    """The function "module:name" (looked up at each call: a test may wrap it)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def alternative(op: str, *, compiled_covers: bool = True) -> Callable | None:
    """The faster implementation of `op` under the chosen set, or None: run the readable body.

    `compiled_covers=False` says the compiled set does not handle this call (grouped
    convolution, an empty batch), so the tuned NumPy one runs instead.
    """
    entries = IMPLEMENTATIONS.get(op)
    if entries is None:
        raise KeyError(f"{op!r} is not in ref_cnn._fast.backend.IMPLEMENTATIONS")
    chosen = get_kernels()
    if chosen == "numba":
        compiled()  # a clear ImportError where numba went missing
    for name in _FALLBACK[chosen]:
        if name == "numba" and not compiled_covers:
            continue
        if name in entries:
            return _load(entries[name])
    return None
