"""Argument checks shared by the functional ops.

Every public op validates its arguments up front so that bad input fails with a
`ValueError` or `TypeError` that names the argument and the problem, instead of an
`IndexError` or a silent broadcast from deep inside NumPy.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Refuse before allocating an array this large (torch would fail too). One limit for every
# op (conv, pooling, ...), so that none of them imports it from another.
MAX_ELEMENTS = 2**31


def as_float_array(a, name: str, ndim: int | None = None) -> np.ndarray:
    """Return `a` as a float32/float64 ndarray (no copy), or raise naming `name`.

    Integer and boolean arrays are refused, as torch refuses them for conv and pooling.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {a.ndim}-D with shape {a.shape}")
    return a


def same_dtype(**arrays: np.ndarray | None) -> np.dtype:
    """Raise TypeError unless all given (non-None) arrays share one dtype; return it."""
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        detail = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        raise TypeError(f"dtypes differ ({detail}); cast them to one dtype")
    return next(iter(dtypes.values()))


def pair(value, name: str, minimum: int) -> tuple[int, int]:
    """`int`, `(int,)` or `(int, int)` → `(int, int)`, each ≥ `minimum`, as torch accepts.

    A 1-element tuple or list means the same value for both dimensions (torch's `_pair`
    expands it the same way).
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    if not (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    out = (int(value[0]), int(value[1]))
    if min(out) < minimum:
        word = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{name} must be {word}, got {value!r}")
    return out


def check_grad_shape(dy: np.ndarray, expected: tuple[int, ...], name: str = "dy") -> None:
    """The upstream gradient must have exactly the forward output's shape."""
    if dy.shape != tuple(expected):
        raise ValueError(
            f"{name} must have the forward output's shape {tuple(expected)}, got {dy.shape}"
        )


def check_mode(mode, allowed: tuple[str, ...], name: str = "mode") -> str:
    if not isinstance(mode, str) or mode not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {mode!r}")
    return mode


def batched(x: np.ndarray, name: str = "x", ndim: int = 4) -> tuple[np.ndarray, bool]:
    """Accept a batch (N, C, H, W) or, as torch does, one unbatched sample (C, H, W).

    Returns the 4-D array (a view with N = 1 for an unbatched input) and whether a batch
    axis was added, so the caller can drop it again from its result (`unbatch`).
    """
    as_float_array(x, name)
    if x.ndim == ndim - 1:
        return x[None], True
    if x.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D (N, C, H, W) or {ndim - 1}-D (C, H, W) unbatched, "
            f"got {x.ndim}-D with shape {x.shape}"
        )
    return x, False


def unbatch(y: np.ndarray, added: bool) -> np.ndarray:
    """Drop the batch axis `batched` added (y[0]), else return y."""
    return y[0] if added else y


def check_gradient(dy, x: np.ndarray, expected: tuple[int, ...] | None = None) -> np.ndarray:
    """dy as a float array of x's dtype and the forward output's shape (`expected`, x's shape
    by default): the checks an `<op>_backward` makes on its upstream gradient. Returns dy."""
    dy = as_float_array(dy, "dy")
    same_dtype(dy=dy, x=as_float_array(x, "x"))
    check_grad_shape(dy, x.shape if expected is None else expected)
    return dy


def check_positive_int(value, name: str) -> int:
    """An int ≥ 1 (not a bool), or a TypeError / ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def check_dim(dim, x: np.ndarray, name: str = "dim") -> int:
    """An axis of x as torch's `dim` (an int in [−n, n − 1]; a 0-d x takes 0 or −1),
    returned in [0, n − 1]."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {dim!r}")
    axes = max(x.ndim, 1)
    if not -axes <= dim < axes:
        raise ValueError(
            f"{name} {dim} is out of range for x of shape {x.shape}: use a {name} in "
            f"[{-axes}, {axes - 1}]"
        )
    return int(dim) % axes
