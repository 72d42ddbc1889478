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
