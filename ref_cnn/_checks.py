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


class ArgumentError(TypeError, ValueError):
    """Several problems with an op's arrays at once, some of type and some of shape: caught
    by `except TypeError` and by `except ValueError` alike."""


def _shape_fix(a: np.ndarray, name: str, layouts: dict[int, str]) -> str:
    """What a wrong number of axes should be, and a reshape that gets there when axes are missing."""
    ndims = tuple(layouts)
    want = " or ".join(f"{d}-D {lay}".rstrip() for d, lay in layouts.items())
    text = f"{name} must be {want}, got {a.ndim}-D with shape {a.shape}"
    if a.ndim < min(ndims):  # e.g. one 2-D image: add a batch and a channel axis of size 1
        shape = (1,) * (max(ndims) - a.ndim) + a.shape
        text += f"; add the missing axes with {name}.reshape{shape}"
    return text


def array_problems(
    a, name: str, layouts: dict[int, str] | None = None
) -> tuple[list[str], list[str]]:
    """(type problems, shape problems) of one array argument, each saying how to fix it;
    `layouts`: {allowed number of axes: what they are}, e.g. {4: "(N, C, H, W)"}."""
    if not isinstance(a, np.ndarray):
        fix = f"convert it with np.asarray({name}, dtype=np.float64)"
        return [f"{name} must be a numpy.ndarray, got {type(a).__name__}: {fix}"], []
    types = []
    if a.dtype not in FLOAT_DTYPES:
        types.append(
            f"{name} must have dtype float32 or float64, got {a.dtype}: "
            f"cast it with {name}.astype(np.float64)"
        )
    shapes = [] if layouts is None or a.ndim in layouts else [_shape_fix(a, name, layouts)]
    return types, shapes


def raise_problems(types: list[str], shapes: list[str]) -> None:
    """Raise one error naming every problem: TypeError, ValueError, or ArgumentError for both."""
    if not types and not shapes:
        return
    text = (
        "; ".join(types + shapes)
        if len(types + shapes) == 1
        else "\n  ".join(["bad arguments:", *types, *shapes])
    )
    raise (ArgumentError if types and shapes else TypeError if types else ValueError)(text)


def check_arrays(**specs: tuple) -> None:
    """Check several array arguments at once, `name=(array, layouts)` as `array_problems`
    (array None: skipped), and raise one error that names every problem and its fix."""
    types: list[str] = []
    shapes: list[str] = []
    for name, (a, layouts) in specs.items():
        if a is not None:
            t, s = array_problems(a, name, layouts)
            types += t
            shapes += s
    raise_problems(types, shapes)


def as_float_array(a, name: str, ndim: int | None = None) -> np.ndarray:
    """Return `a` as a float32/float64 ndarray (no copy), or raise naming `name` and the fix.

    Integer and boolean arrays are refused, as torch refuses them for conv and pooling.
    """
    raise_problems(*array_problems(a, name, None if ndim is None else {ndim: ""}))
    return a


def same_dtype(**arrays: np.ndarray | None) -> np.dtype:
    """Raise TypeError unless all given (non-None) arrays share one dtype; return it."""
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        detail = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        casts = ", ".join(f"{n}.astype(np.float64)" for n, d in dtypes.items() if d != np.float64)
        raise TypeError(
            f"dtypes differ ({detail}); cast them to one dtype: {casts} (or all to np.float32)"
        )
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
            f"{name} must have the forward output's shape {tuple(expected)}, got {dy.shape}: pass "
            f"the gradient of the loss with respect to the forward output (same arguments, same shape)"
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
    layouts = (
        {4: "(N, C, H, W)", 3: "unbatched (C, H, W)"} if ndim == 4 else {ndim: "", ndim - 1: ""}
    )
    raise_problems(*array_problems(x, name, layouts))
    if x.ndim == ndim - 1:
        return x[None], True
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
