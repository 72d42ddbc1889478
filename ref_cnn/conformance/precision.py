"""The precisions the kit checks in, and each one's bound.

Inputs are drawn in float64 and rounded to the precision first (`round_to`), so the float64
witness computes on exactly the values the target saw. The bound follows the float32 rule:
FACTOR × a reference's error against the float64 answer on the same inputs, and never below
FACTOR × the precision's machine epsilon (a reference that happens to be exact must not
demand exactness from another summation order). The reference is torch's own CPU op in
float32. For bfloat16, float16 and tf32 it is torch's float32 op on the same rounded inputs
with each output rounded once to the precision, what a kernel that accumulates in float32
returns: torch's own CPU ops at bf16/fp16 are the wrong reference, as they round some
intermediates and not others (on the kit's cases their error is 1× this reference's for
conv2d's y and linear, up to 4.7× for conv_transpose2d's y, 4.6× for the pools' dx, 7.7× for
conv2d's dx), and torch's CPU has no TF32.

| precision | NumPy targets get | torch targets get | ε (the floor is 10 ε) |
|---|---|---|---|
| float64 | float64 | float64 | fixed bound 1e-10 |
| float32 | float32 | float32, TF32 off | 2⁻²³ |
| tf32 | – | float32 holding TF32 values, TF32 on | 2⁻¹⁰ |
| bfloat16 | – (NumPy has no bfloat16) | bfloat16 | 2⁻⁷ |
| float16 | float16 | float16 | 2⁻¹⁰ |

JAX targets get jnp arrays of the same dtype (tf32 is torch only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ref_cnn._metric import FLOAT32_FACTOR, RTOL64


@dataclass(frozen=True)
class Precision:
    """name: what --dtype takes; storage: the NumPy dtype holding the (rounded) values;
    torch: torch's dtype name; mantissa: stored significand bits; eps: 2^-mantissa."""

    name: str
    storage: np.dtype
    torch: str
    mantissa: int
    numpy_ok: bool = True  # a NumPy target can take this precision
    tf32: bool = False  # TF32 on for torch targets

    @property
    def eps(self) -> float:
        """Machine epsilon: the gap between 1 and the next value, 2^-mantissa."""
        return 2.0**-self.mantissa

    def bound(self, own_error: float) -> float:
        """FACTOR × torch's own error at this precision, at least FACTOR × ε (float64: 1e-10)."""
        if self.name == "float64":
            return RTOL64
        return max(FLOAT32_FACTOR * self.eps, FLOAT32_FACTOR * float(own_error))

    def rule(self) -> str:
        """The bound in words, for the table's header."""
        if self.name == "float64":
            return "rtol 1e-10"
        if self.name == "float32":
            return "float32 rule: 10·max(torch float32's own error, ε = 2^-23)"
        return (
            f"{self.name} rule: 10·max(error of torch float32 on the same inputs rounded once "
            f"to {self.name}, ε = 2^-{self.mantissa})"
        )


PRECISIONS = {
    p.name: p
    for p in (
        Precision("float64", np.dtype(np.float64), "float64", 52),
        Precision("float32", np.dtype(np.float32), "float32", 23),
        Precision("tf32", np.dtype(np.float32), "float32", 10, numpy_ok=False, tf32=True),
        Precision("bfloat16", np.dtype(np.float32), "bfloat16", 7, numpy_ok=False),
        Precision("float16", np.dtype(np.float16), "float16", 10),
    )
}
DTYPES = tuple(PRECISIONS)


def precision(dtype) -> Precision:
    """A Precision from a name ("bfloat16", "tf32", …) or a NumPy dtype."""
    if isinstance(dtype, Precision):
        return dtype
    name = dtype if isinstance(dtype, str) else None
    if name is None:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype)
    if name not in PRECISIONS:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return PRECISIONS[name]


def _round_mantissa(a: np.ndarray, bits: int) -> np.ndarray:
    """float32 values rounded to `bits` stored significand bits, to nearest, ties to even."""
    u = np.ascontiguousarray(a, np.float32).view(np.uint32)
    shift = 23 - bits
    half = np.uint32((1 << (shift - 1)) - 1)
    u = (u + half + ((u >> np.uint32(shift)) & np.uint32(1))) & np.uint32(
        0xFFFFFFFF ^ ((1 << shift) - 1)
    )
    return u.view(np.float32)


def round_to(a: np.ndarray, p: Precision) -> np.ndarray:
    """A float64 array rounded to precision p, held in p's storage dtype."""
    if p.storage != np.float32 or p.mantissa == 23:
        return a.astype(p.storage)
    return _round_mantissa(a.astype(np.float32), p.mantissa)
