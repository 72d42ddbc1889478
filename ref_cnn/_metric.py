"""The one error metric of the parity suite, the report and the conformance kit (NumPy only).

    compare(got, expected) → Comparison(abs_err, rel_err, where, problem)

* Shapes must be equal.
* NaN and ±inf are compared by position: wherever the witness has a NaN the result must
  have a NaN, wherever it has +inf (−inf) the result must have +inf (−inf), and the other
  way round. A NaN where the witness has a number is a failure that names its position,
  whatever the tolerance.
* On the positions where both are finite, the error is norm-wise relative:

      rel = max |got − expected| / max |expected|        (over the finite positions)

  An element-wise relative bound would be meaningless where a sum cancels to ~0 in one
  element; the norm-wise bound asks every element to be right to the scale of the output.

float32 results are held to a bound relative to the witness library's own float32 error
on the same case (`float32_bound`): a float32 kernel cannot be asked to beat float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# float64 against torch: ~1e-10 relative (the project's bound, ~10⁶ ulp of headroom for sums
# of hundreds of terms, far below any real bug)
RTOL64 = 1e-10
# float32 rule: within FLOAT32_FACTOR of the witness's own float32 error against float64 on
# the same case, and never tighter than FLOAT32_FACTOR ulp of float32 (a witness that
# happens to be exact must not demand exactness from another summation order)
FLOAT32_FACTOR = 10.0
EPS32 = float(np.finfo(np.float32).eps)


def float32_bound(witness_float32_error: float, floor: float = FLOAT32_FACTOR * EPS32) -> float:
    """The float32 rule: FLOAT32_FACTOR × the witness's own float32 error on the same quantity,
    and at least `floor`. The kit (single ops) keeps the default floor, ten float32 ulps; the
    suite's model twins use its fixed float32 bound 2e-5 as the floor."""
    return max(float(floor), FLOAT32_FACTOR * float(witness_float32_error))


@dataclass(frozen=True)
class Comparison:
    """abs_err, rel_err: on the finite positions. problem: a mismatch no tolerance excuses
    (shape, NaN or inf placement), else "". where: index of the problem or of the largest error."""

    abs_err: float
    rel_err: float
    where: tuple[int, ...] | None = None
    problem: str = ""
    got_at: float | None = None
    expected_at: float | None = None

    def ok(self, rtol: float) -> bool:
        return not self.problem and self.rel_err <= rtol

    def describe(self, name: str = "output", witness: str = "the witness") -> str:
        """One line: what is wrong and where."""
        if self.problem:
            return f"{name}: {self.problem.replace('the witness', witness)}"
        if self.where is None:
            return f"{name}: largest error {self.abs_err:.3e} (relative {self.rel_err:.3e})"
        return (
            f"{name}: largest error {self.abs_err:.3e} (relative {self.rel_err:.3e}) at index "
            f"{self.where} (got {self.got_at:.6g}, {witness} {self.expected_at:.6g})"
        )


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _non_finite_problem(got: np.ndarray, expected: np.ndarray) -> str:
    """The first position where NaN or ±inf placement differs, described; "" if none."""
    g_nan, e_nan = np.isnan(got), np.isnan(expected)
    if (bad := g_nan & ~e_nan).any():
        at = _first(bad)
        return f"NaN at index {at} where the witness has {expected[at]:.6g} ({int(bad.sum())} such positions)"
    if (bad := e_nan & ~g_nan).any():
        at = _first(bad)
        return f"{got[at]:.6g} at index {at} where the witness has NaN ({int(bad.sum())} such positions)"
    for sign, label in ((1, "+inf"), (-1, "-inf")):
        g_inf, e_inf = got == sign * np.inf, expected == sign * np.inf
        if (bad := g_inf != e_inf).any():
            at = _first(bad)
            return f"{got[at]:.6g} at index {at} where the witness has {expected[at]:.6g} ({label} placement differs)"
    return ""


def compare(got, expected) -> Comparison:
    """Compare a result with its witness: placement of NaN/±inf, then norm-wise relative error."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        return Comparison(np.inf, np.inf, problem=f"shape {got.shape}, expected {expected.shape}")
    if got.size == 0:
        return Comparison(0.0, 0.0)
    got64 = got.astype(np.float64, copy=False)
    exp64 = expected.astype(np.float64, copy=False)
    if problem := _non_finite_problem(got64, exp64):
        return Comparison(np.inf, np.inf, problem=problem)
    finite = np.isfinite(exp64)
    if not finite.any():
        return Comparison(0.0, 0.0)
    diff = np.zeros(exp64.shape)
    diff[finite] = np.abs(got64[finite] - exp64[finite])
    where = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
    abs_err = float(diff[where])
    scale = float(np.max(np.abs(exp64[finite])))
    rel_err = abs_err / scale if scale > 0 else abs_err
    return Comparison(abs_err, rel_err, where, "", float(got64[where]), float(exp64[where]))
