"""Batch standardisation z = (v − mean(v))/std(v), the step AV's code applies to Z2.

AV's code standardises the dense layer's output over the whole batch (population std,
NumPy's default ddof = 0) before the output sigmoid, and then leaves the step out of its
backward pass. Here it is differentiated:

    ∂E/∂v = (1/σ)·(g − mean(g) − z·mean(g·z)),   g = ∂E/∂z
"""

from __future__ import annotations

import numpy as np

from ref_cnn._checks import as_float_array, check_grad_shape


def standardize(v) -> np.ndarray:
    """(v − mean(v))/std(v) over every element of v; std with ddof = 0, as np.std."""
    v = as_float_array(v, "v")
    if v.size < 2:
        raise ValueError(f"standardising needs at least two values, got shape {v.shape}")
    return (v - v.mean()) / v.std()


def standardize_backward(dz, v) -> np.ndarray:
    """∂E/∂v from ∂E/∂z, for z = standardize(v)."""
    v = as_float_array(v, "v")
    dz = as_float_array(dz, "dz")
    check_grad_shape(dz, v.shape, "dz")
    z = standardize(v)
    return (dz - dz.mean() - z * np.mean(dz * z)) / v.std()
