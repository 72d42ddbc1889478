"""Initialisers for layers: torch's defaults, AV's uniform [0, 1), He [IC-12]."""

from __future__ import annotations

import numpy as np

from ref_cnn.functional.init import fan_in


def default_init(weight_shape, rng=None, dtype=np.float64):
    """torch's default for Conv2d and Linear: weight and bias ~ U(−1/√fan_in, 1/√fan_in).

    (kaiming_uniform_ with a = √5 gives the bound gain·√(3/fan_in) = 1/√fan_in.) The weight
    shape is torch's: (C_out, C_in/groups, kH, kW) or (out_features, in_features).
    """
    rng = rng if rng is not None else np.random.default_rng()
    bound = 1 / np.sqrt(fan_in(weight_shape) if len(weight_shape) == 4 else weight_shape[1])
    weight = rng.uniform(-bound, bound, size=weight_shape).astype(dtype)
    bias = rng.uniform(-bound, bound, size=weight_shape[0]).astype(dtype)
    return weight, bias


SCHEMES = ("torch", "uniform01", "he")


def initialise(
    model, scheme: str = "torch", rng: np.random.Generator | None = None, zero_bias: bool = True
):
    """Re-draw the weight of every Conv2d and Linear in `model`, in place; returns the model.

    scheme: "torch" (torch's default, weight and bias U(−1/√fan_in, 1/√fan_in)),
    "uniform01" (AV's np.random.uniform: every weight U[0, 1)) or "he" (IC-12:
    N(0, 2/fan_in), fan_in = C_in·k·k). For the last two the biases are set to zero
    (as IC's code does) unless zero_bias=False, which leaves them as they are.
    """
    from ref_cnn.functional.init import he_normal, uniform01
    from ref_cnn.nn.layers import Conv2d, Linear

    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    rng = rng if rng is not None else np.random.default_rng()
    for layer in model._all_modules():
        if not isinstance(layer, Conv2d | Linear):
            continue
        w = layer.params()["weight"]
        b = layer.params().get("bias")
        if scheme == "torch":
            new_w, new_b = default_init(w.shape, rng, w.dtype)
            if b is not None and b.shape == new_b.shape:
                b[...] = new_b
        else:
            new_w = (uniform01 if scheme == "uniform01" else he_normal)(w.shape, rng, w.dtype)
            if b is not None and zero_bias:
                b[...] = 0
        w[...] = new_w
    return model
