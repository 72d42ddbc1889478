"""What a failure usually means: where the target raised, and hints for the common mistakes.

* an option the target does not offer (unbatched input, groups, ceil_mode…): raise
  NotImplementedError and the kit counts the case as skipped;
* channels-last code checked as NCHW (or the other way round): every case fails, the first
  one passes with the other layout;
* a backward function checked with a forward --op, or a forward with a backward --op.
"""

from __future__ import annotations

import inspect
import sysconfig
import traceback
from pathlib import Path

_KIT = str(Path(__file__).resolve().parent)
_LIBRARIES = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def where(exc: BaseException) -> str:
    """' (at FILE:LINE in FUNCTION: code)': the innermost frame of the target's own code,
    else the innermost frame outside the kit (a library's own op); '' if none."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not str(Path(f.filename).resolve()).startswith(_KIT)
    ]
    own = [f for f in frames if not str(Path(f.filename).resolve()).startswith(_LIBRARIES)]
    frame = (own or frames or [None])[-1]
    if frame is None:
        return ""
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" (at {frame.filename}:{frame.lineno} in {frame.name}{code})"


def for_exception(
    exc: BaseException, case: dict, arrays: dict, layout: str, unbatched_3d: bool = True
) -> str:
    """A hint for a target that raised on a case (unbatched_3d: the op reads a 3-D x as one
    (C, H, W) image, not as (N, C, L))."""
    x = arrays.get("x")
    options = ", ".join(f"{k}={v!r}" for k, v in case.get("kw", {}).items())
    if unbatched_3d and x is not None and x.ndim == 3 and "x" in case and len(case["x"]) == 3:
        return (
            "this case passes an unbatched (C, H, W) input, as torch allows: a target that "
            "takes batches only can raise NotImplementedError for x.ndim == 3 (the case is "
            "then skipped)"
        )
    if options:
        return (
            f"if the target does not offer this case's options ({options}), raise "
            "NotImplementedError for them: the kit counts the case as skipped"
        )
    return ""


def _first_param(fn) -> str:
    try:
        return next(iter(inspect.signature(fn).parameters), "")
    except (TypeError, ValueError):
        return ""


def _passes(run, case: dict, **change) -> bool:
    """Whether the first case passes with one setting changed (layout, op direction)."""
    from dataclasses import replace

    from ref_cnn.conformance.kit import run_case

    try:
        result, _ = run_case(replace(run, **change), case)
    except Exception:  # noqa: BLE001 - a probe that cannot run says nothing
        return False
    return result.status == "ok"


def for_results(run, results, cases: list[dict]) -> list[str]:
    """Hints for the whole run, when no case passed: probes the first failing case with the
    other layout and the other op direction."""
    out = []
    if any(r.status == "ok" for r in results) or not results.failed:
        return out
    first = next(c for c, r in zip(cases, results, strict=True) if r.status == "FAIL")
    spec, name = run.spec, run.spec.name
    other = "nhwc" if run.layout == "nchw" else "nchw"
    if spec.spatial and spec.nhwc and _passes(run, first, layout=other):
        out.append(
            f"every case fails, but {first['id']} passes with --layout {other}: the target looks "
            f"{'channels-last' if other == 'nhwc' else 'NCHW'}"
        )
    param = _first_param(run.fn)
    if run.framework == "numpy" and not run.backward:
        looks_backward = param in ("dy", "dout", "grad", "grad_output", "delta", "dz", "dE_dy")
        if looks_backward or _passes(run, first, backward=True):
            out.append(
                f"the target looks like a backward function (dy first, gradients out): "
                f"use --op {name}_backward"
            )
    elif run.backward and _passes(run, first, backward=False):
        out.append(f"the target looks like a forward function: use --op {name}")
    return out
