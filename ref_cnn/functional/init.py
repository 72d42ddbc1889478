"""Initialisation, parameter counts and the classic edge filters [IC-12, MB-10, MB-1]."""

from __future__ import annotations

import numpy as np

# MB-1: the vertical edge filter; the horizontal one is its transpose.
VEF = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
HEF = VEF.T.copy()


def fan_in(shape: tuple[int, ...]) -> int:
    """Inputs feeding one output unit: C_in·kH·kW for (C_out, C_in, kH, kW), m for (m, n)."""
    if len(shape) == 4:
        return int(np.prod(shape[1:]))
    if len(shape) == 2:
        return int(shape[0])
    raise ValueError(
        f"fan_in needs a 4-D conv kernel or a 2-D (inputs, neurons) matrix, got {shape}"
    )


_fan_in = fan_in  # he_normal's argument of the same name shadows it there


def he_normal(shape, rng: np.random.Generator, dtype=np.float64, fan_in=None) -> np.ndarray:
    """He initialisation K ~ N(0, 2/fan_in), fan_in = C_in·k·k [IC-12].

    Same distribution as `torch.nn.init.kaiming_normal_(w, nonlinearity="relu")`
    (mode "fan_in") for a conv kernel (C_out, C_in, kH, kW). fan_in defaults to the one of
    the shape (`fan_in`: C_in·kH·kW, or m for the article's (m, n) matrix); a layer passes
    its own (torch's Linear weight is (out, in), whose fan-in is in).

    Example:
        >>> import numpy as np
        >>> from ref_cnn.functional import he_normal
        >>> k = he_normal((64, 32, 3, 3), np.random.default_rng(0))  # fan_in = 32·3·3 = 288
        >>> round(float(k.std() * np.sqrt(288 / 2)), 2)
        1.0
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    shape = tuple(shape)
    n_in = _fan_in(shape) if fan_in is None else fan_in
    return (rng.standard_normal(shape) * np.sqrt(2.0 / n_in)).astype(dtype)


def uniform01(shape, rng: np.random.Generator, dtype=np.float64, fan_in=None) -> np.ndarray:
    """AV's initialisation: every weight drawn uniform on [0, 1) (fan_in is ignored)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng.uniform(size=tuple(shape)).astype(dtype)


def conv_param_count(f: int | tuple[int, int], c_in: int, c_out: int, bias: bool = True) -> int:
    """Learned parameters of a conv layer [MB-10]: (f·f·n_C^[l−1])·n_C^[l] + n_C^[l] biases."""
    fh, fw = (f, f) if isinstance(f, int) else f
    return fh * fw * c_in * c_out + (c_out if bias else 0)
