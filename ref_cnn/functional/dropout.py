"""Dropout, spatial dropout and stochastic depth, with an explicit keep-mask [SPA-1..SPA-3].

Each op multiplies its input by a noise tensor: the keep-mask m (1 keeps, 0 drops) scaled
by 1/(1 − p), so that the expectation of the output is the input (torch's "inverted"
dropout). The ops differ only in the noise's shape:

    dropout             m of x's shape                          one draw per element
    dropout2d           m of shape (N, C, 1, …, 1)              one draw per channel map
    stochastic_depth    m of shape (N, 1, …, 1) ("row") or (1, …, 1) ("batch")

Randomness. Every forward takes `mask=`: the keep-mask to use, of the noise's shape or the
same without its trailing 1s ((N, C) for dropout2d, (N,) for a "row" stochastic depth, ()
for "batch"), boolean or 0/1. Without one, the mask is drawn from the NumPy Generator
`generator`, else from this module's default generator, which `manual_seed(seed)` seeds.
`dropout_mask`, `dropout2d_mask` and `stochastic_depth_mask` draw the mask the forward
would draw, so that a caller can keep it for the backward pass, which needs the same mask
(it never draws). A mask is drawn, and used, only where the op is random: in training
mode and for 0 < p < 1 (at p = 1 every element is dropped and a mask is ignored).

Semantics are torch's (`torch.nn.functional.dropout`, `dropout2d` and
`torchvision.ops.stochastic_depth`): not training or p = 0 returns x itself; p = 1 gives
x·0 (NaN and ±∞ become NaN, as torch); y = x·noise exactly as torch multiplies, so y is
bitwise torch's for the same mask. `inplace=True` writes y into x and returns x, as torch.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape, check_mode, same_dtype

_DEFAULT = np.random.default_rng()


def manual_seed(seed) -> np.random.Generator:
    """Seed the default generator the three ops draw from when given neither `mask` nor
    `generator`; returns it. Like torch.manual_seed, for ref_cnn's dropout draws only."""
    global _DEFAULT
    _DEFAULT = np.random.default_rng(seed)
    return _DEFAULT


def default_generator() -> np.random.Generator:
    """The NumPy Generator dropout, dropout2d and stochastic_depth draw from by default."""
    return _DEFAULT


def _check_p(p, what: str = "dropout probability") -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a float in [0, 1], got {p!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{what} has to be between 0 and 1, but got {p}")
    return float(p)


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def _draw(shape: tuple[int, ...], keep: float, generator) -> np.ndarray:
    """A Bernoulli(keep) draw of `shape`, True = kept."""
    rng = _DEFAULT if generator is None else generator
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator, got {type(rng).__name__}")
    return np.asarray(rng.random(shape) < keep)


def _keep_mask(mask, shape: tuple[int, ...], compact: tuple[int, ...], op: str) -> np.ndarray:
    """The caller's keep-mask, of the noise's `shape` or its `compact` form, as bools of `shape`."""
    if isinstance(mask, np.generic):  # a 0-d mask as NumPy returns it from a reduction
        mask = np.asarray(mask)
    if not isinstance(mask, np.ndarray):
        raise TypeError(
            f"{op}: mask must be a numpy.ndarray of 0/1 or bools, got {type(mask).__name__}"
        )
    if mask.shape not in (shape, compact):
        raise ValueError(
            f"{op}: mask must have the noise's shape {shape} (or {compact}), got {mask.shape}"
        )
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "iuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{op}: mask must hold only 0/1 or True/False (1 keeps an element)")
        mask = mask != 0
    return mask.reshape(shape)


def _noise(x, p, shape, compact, mask, generator, op, backward=False) -> np.ndarray:
    """m/(1 − p) in x's dtype [SPA-1], for 0 < p < 1: the caller's mask, or a fresh draw
    (forward only)."""
    if mask is None:
        if backward:
            raise ValueError(
                f"{op}_backward needs the keep-mask the forward used: pass mask= (draw it "
                f"with ref_cnn.functional.{op}_mask and give it to both passes)"
            )
        mask = _draw(shape, 1.0 - p, generator)
    noise = _keep_mask(mask, shape, compact, op).astype(x.dtype)
    noise /= x.dtype.type(1.0 - p)  # torch: noise.div_(1 − p) in x's dtype
    return noise


def _apply(x, noise, inplace: bool) -> np.ndarray:
    """x·noise (into x when `inplace`); ±∞·0 is NaN without a warning, as in torch."""
    with np.errstate(invalid="ignore"):
        return np.multiply(x, noise, out=x if inplace else None)


_ZERO = {np.dtype(np.float32): np.zeros((), np.float32), np.dtype(np.float64): np.zeros(())}


def _feature_shape(x: np.ndarray) -> tuple[int, ...]:
    if x.ndim < 2:
        raise ValueError(
            f"dropout2d drops whole feature maps and needs at least 2 dimensions (N, C, …), "
            f"got shape {x.shape}; use dropout for element-wise dropout"
        )
    return (x.shape[0], x.shape[1]) + (1,) * (x.ndim - 2)


def _warn_dims(x: np.ndarray) -> None:
    """torch's warnings: dropout2d is for 4-D (N, C, H, W) input; a 3-D input is read as
    (N, C, L) (channel-wise 1-D dropout), not as one unbatched (C, H, W) sample."""
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: a 3-D input is read as (N, C, L), as torch does: one draw per (n, c) "
            "row. For one unbatched (C, H, W) sample pass x[None] instead.",
            stacklevel=3,
        )
    elif x.ndim != 4:
        warnings.warn(
            f"dropout2d: a {x.ndim}-D input; dropout2d is meant for (N, C, H, W)",
            stacklevel=3,
        )


# ------------------------------------------------------------------ dropout (SPA-1)


def dropout_mask(x, p: float = 0.5, generator=None) -> np.ndarray:
    """Draw dropout's keep-mask for x: bool, x's shape, each element kept with 1 − p."""
    x = as_float_array(x, "x")
    return _draw(x.shape, 1.0 - _check_p(p), generator)


def _dropout_noise(x, p, mask, generator, backward=False):
    if p == 1.0:  # every element dropped: torch multiplies by 0 (mask ignored)
        return _ZERO[x.dtype]
    return _noise(x, p, x.shape, x.shape, mask, generator, "dropout", backward)


def dropout(x, p=0.5, training=True, inplace=False, *, mask=None, generator=None):
    """Dropout [SPA-1]: y = x ⊙ m/(1 − p), m_i ~ Bernoulli(1 − p), x of any shape.

    Identity (x itself) when not training or p = 0; x·0 when p = 1. `mask`: the keep-mask,
    x's shape; without one it is drawn from `generator` or the module's default.
    """
    x = as_float_array(x, "x")
    p, training = _check_p(p), _check_flag(training, "training")
    inplace = _check_flag(inplace, "inplace")
    if not training or p == 0.0 or x.size == 0:
        return x
    noise = _dropout_noise(x, p, mask, generator)
    return _apply(x, noise, inplace)  # SPA-1: y = x ⊙ m/(1 − p)


def dropout_backward(dy, x, p=0.5, training=True, inplace=False, *, mask=None, generator=None):
    """∂E/∂x = dy ⊙ m/(1 − p) [SPA-1], with the forward's keep-mask (required where the
    forward was random: training and 0 < p < 1); dy where dropout is the identity."""
    dy, x = _gradient_pair(dy, x)
    p, training = _check_p(p), _check_flag(training, "training")
    if not training or p == 0.0 or x.size == 0:
        return dy.copy()
    return _apply(dy, _dropout_noise(x, p, mask, None, backward=True), False)


def _gradient_pair(dy, x):
    dy, x = as_float_array(dy, "dy"), as_float_array(x, "x")
    same_dtype(dy=dy, x=x)
    check_grad_shape(dy, x.shape)
    return dy, x


# ------------------------------------------------------------------ dropout2d (SPA-2)


def _feature_shape(x: np.ndarray) -> tuple[int, ...]:
    """(N, C, 1, …, 1): torch's feature noise for an input read as (N, C, …)."""
    if x.ndim < 2:
        raise ValueError(
            f"dropout2d drops whole feature maps and needs at least 2 dimensions (N, C, …), "
            f"got shape {x.shape}; use dropout for element-wise dropout"
        )
    return (x.shape[0], x.shape[1]) + (1,) * (x.ndim - 2)


def _warn_dims(x: np.ndarray) -> None:
    """torch's warnings: dropout2d is meant for (N, C, H, W); a 3-D input is read as
    (N, C, L) (channel-wise 1-D dropout), not as one unbatched (C, H, W) sample."""
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: a 3-D input is read as (N, C, L), as torch does: one draw per (n, c) "
            "row. For one unbatched (C, H, W) sample pass x[None] instead.",
            stacklevel=3,
        )
    elif x.ndim != 4:
        warnings.warn(
            f"dropout2d: a {x.ndim}-D input; dropout2d is meant for (N, C, H, W)", stacklevel=3
        )


def dropout2d_mask(x, p: float = 0.5, generator=None) -> np.ndarray:
    """Draw dropout2d's keep-mask for x: bool, shape (N, C, 1, …, 1), one draw per map."""
    x = as_float_array(x, "x")
    return _draw(_feature_shape(x), 1.0 - _check_p(p), generator)


def _feature_noise(x, p, mask, generator, backward=False):
    if p == 1.0:  # torch returns x·0 before it looks at x's dimensions
        return _ZERO[x.dtype]
    shape = _feature_shape(x)
    return _noise(x, p, shape, shape[:2], mask, generator, "dropout2d", backward)


def dropout2d(x, p=0.5, training=True, inplace=False, *, mask=None, generator=None):
    """Spatial dropout [SPA-2]: y[n, c] = x[n, c]·m[n, c]/(1 − p), one Bernoulli(1 − p) draw
    per feature map, for x (N, C, H, W).

    As torch, an input of 2 or more dimensions is read as (N, C, …): a 3-D input is
    (N, C, L), not an unbatched (C, H, W) sample (torch warns; so does ref_cnn).
    `mask`: (N, C, 1, 1) or (N, C).
    """
    x = as_float_array(x, "x")
    p, training = _check_p(p), _check_flag(training, "training")
    inplace = _check_flag(inplace, "inplace")
    _warn_dims(x)
    if not training or p == 0.0 or x.size == 0:
        return x
    noise = _feature_noise(x, p, mask, generator)
    return _apply(x, noise, inplace)  # SPA-2: y[n, c] = x[n, c]·m[n, c]/(1 − p)


def dropout2d_backward(dy, x, p=0.5, training=True, inplace=False, *, mask=None, generator=None):
    """∂E/∂x[n, c] = dy[n, c]·m[n, c]/(1 − p) [SPA-2], with the forward's keep-mask."""
    dy, x = _gradient_pair(dy, x)
    p, training = _check_p(p), _check_flag(training, "training")
    if not training or p == 0.0 or x.size == 0:
        return dy.copy()
    return _apply(dy, _feature_noise(x, p, mask, None, backward=True), False)


# ------------------------------------------------------------------ stochastic depth (SPA-3)

_SD_MODES = ("batch", "row")


def _depth_shape(x: np.ndarray, mode: str) -> tuple[int, ...]:
    if mode == "row":
        if x.ndim < 1:
            raise ValueError("stochastic_depth(mode='row') needs a batch axis; x is 0-D")
        return (x.shape[0],) + (1,) * (x.ndim - 1)
    return (1,) * x.ndim


def stochastic_depth_mask(x, p: float, mode: str, generator=None) -> np.ndarray:
    """Draw stochastic depth's keep-mask: bool, (N, 1, …, 1) for "row", (1, …, 1) for "batch"."""
    x = as_float_array(x, "x")
    p = _check_p(p, "drop probability")
    return _draw(_depth_shape(x, check_mode(mode, _SD_MODES)), 1.0 - p, generator)


def _depth_noise(x, p, mode, mask, generator, backward=False) -> np.ndarray:
    """m/(1 − p) of the noise's shape; 0 throughout when p = 1 (torchvision draws with
    survival rate 0 and divides only by a survival rate > 0)."""
    shape = _depth_shape(x, mode)
    if p == 1.0:
        return np.zeros(shape, dtype=x.dtype)
    compact = shape[:1] if mode == "row" else ()
    return _noise(x, p, shape, compact, mask, generator, "stochastic_depth", backward)


def stochastic_depth(x, p, mode, training=True, *, mask=None, generator=None):
    """Stochastic depth [SPA-3] (torchvision.ops.stochastic_depth): y = x·m/(1 − p), one
    Bernoulli(1 − p) draw per sample ("row": m of shape (N, 1, …, 1)) or one for the whole
    batch ("batch"). On a residual branch: out = shortcut + stochastic_depth(branch, …).

    Identity (x itself) when not training or p = 0; x·0 when p = 1. `mask`: the keep-mask,
    (N,) or (N, 1, …, 1) for "row", () or (1, …, 1) for "batch".
    """
    x = as_float_array(x, "x")
    p = _check_p(p, "drop probability")
    check_mode(mode, _SD_MODES)
    if not _check_flag(training, "training") or p == 0.0:
        return x
    return _apply(x, _depth_noise(x, p, mode, mask, generator), False)  # SPA-3: y = x·m/(1 − p)


def stochastic_depth_backward(dy, x, p, mode, training=True, *, mask=None, generator=None):
    """∂E/∂x = dy·m/(1 − p) [SPA-3], with the forward's keep-mask."""
    dy, x = _gradient_pair(dy, x)
    p = _check_p(p, "drop probability")
    check_mode(mode, _SD_MODES)
    if not _check_flag(training, "training") or p == 0.0:
        return dy.copy()
    return _apply(dy, _depth_noise(x, p, mode, mask, None, backward=True), False)
