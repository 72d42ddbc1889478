"""A conformance kit: the parity suite's cases, runnable against anyone's implementation.

    python -m ref_cnn check mypkg.layers:conv2d_backward --op conv2d_backward
    python -m ref_cnn check torch.nn.functional:conv2d --op conv2d
    python -m ref_cnn check mypkg.jax_layers:conv2d --op conv2d --dtype float32 --layout nhwc

or from Python `check(fn, "conv2d")`, or in a test `ref_cnn.testing.assert_conforms`.

The function under test may be
* a NumPy forward function with `ref_cnn.functional`'s signature (`conv2d(x, w, b, stride=…)`):
  its output is checked;
* a NumPy backward function (`conv2d_backward(dy, x, w, stride=…)` → (dx, dw, db)): every
  gradient is checked (a gradient returned as None is reported as not checked);
* a torch or JAX forward function with the same signature: the output and, through autograd
  (`y.backward(dy)`) or `jax.vjp` with a random upstream gradient dy, every gradient.
The framework is detected (`framework="auto"`) or named. `layout="nhwc"` is for
channels-last code: images (N, H, W, C), conv weights (kH, kW, C_in/groups, C_out).

Every case is compared with torch's float64 autograd on the CPU, on the same values (inputs
are rounded to the checked precision first), with `ref_cnn._metric.compare` (NaN and ±inf
must sit where torch's do; then the norm-wise relative error). The bound is 1e-10 in
float64; in float32 ten times torch float32's own error on the same case and output (at
least ten float32 ulps); in bfloat16, float16 and tf32 ten times the error of torch's float32
op rounded once to that precision (at least ten ulps): see `precision`. torch and JAX targets
get their inputs on `device`. The table shows the worst error per case and ref_cnn's own,
hints for the common mistakes, and the first failing case in full. A target that raises
NotImplementedError for a case's options has that case skipped. `fuzz` draws random cases
and shrinks a failure; `save=` writes reproducers (`reproduce`). Guide: docs/kit.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ref_cnn.conformance.cases import (
    AVG_POOL_CASES,
    BATCH_NORM_CASES,
    CONV_CASES,
    LINEAR_CASES,
    MAX_POOL_CASES,
)
from ref_cnn.conformance.kit import CaseResult, Results, check, select_cases
from ref_cnn.conformance.ops import OP_NAMES, OPS
from ref_cnn.conformance.precision import DTYPES
from ref_cnn.conformance.targets import FRAMEWORKS, LAYOUTS

__all__ = [
    "AVG_POOL_CASES",
    "BATCH_NORM_CASES",
    "CONV_CASES",
    "DTYPES",
    "FRAMEWORKS",
    "LAYOUTS",
    "LINEAR_CASES",
    "MAX_POOL_CASES",
    "OPS",
    "OP_NAMES",
    "CaseResult",
    "Results",
    "check",
    "first_failure",
    "format_results",
    "load",
    "passed",
    "select_cases",
    "summary",
]


def first_failure(results: Results) -> str:
    """The first failing case in full: what the target was given, which output is wrong and
    where its largest error sits (or where the target raised), and a hint if one applies."""
    failed = results.failed
    if not failed:
        return ""
    f = failed[0]
    shapes = ", ".join(f"{k} {v}" for k, v in f.inputs["shapes"].items())
    lines = [f"first failing case: {f.id}", f"  inputs: {shapes}; options {f.inputs['options']}"]
    if "passed" in f.inputs:
        passed = ", ".join(f"{k} {v}" for k, v in f.inputs["passed"].items())
        lines.append(
            f"  as passed ({results.about['layout'].upper()}): {passed}; indices below are NCHW"
        )
    lines.append(f"  {f.detail}")
    if f.hint:
        lines.append(f"  hint: {f.hint}")
    return "\n".join(lines)


def _row(r: CaseResult, width: int) -> str:
    if r.status == "skip":
        return f"{r.id:<{width}}  skip    {r.detail}"
    error = f"raised {r.raised}" if r.raised else f"{r.worst_rel:10.2e}"
    mine = "–" if r.worst_rel_ref_cnn != r.worst_rel_ref_cnn else f"{r.worst_rel_ref_cnn:.1e}"
    note = ""
    if r.unchecked and r.status == "ok":
        note = f"  not checked: {', '.join(r.unchecked)} (returned None)"
    return f"{r.id:<{width}}  {r.status:<6}  {error:>10}  {r.bound:8.1e}  {mine:>7}{note}"


def _header(op: str, target: str, about: dict) -> list[str]:
    if not about:
        return [f"{op}: {target}"]
    where = f", {about['device']}" if about.get("device", "cpu") != "cpu" else ""
    tf32 = ", TF32 on" if about.get("tf32") and about["dtype"] == "float32" else ""
    return [
        f"{op}: {target} ({about['framework']}, {about['dtype']}{tf32}, "
        f"{about['layout'].upper()}{where}) against {about['witness']}; {about['rule']}",
        "error: the target's largest error on its worst output, relative to that output's "
        "largest value (inf: a NaN, inf, shape or dtype out of place); bound: that output's bound; "
        "ref_cnn: ref_cnn's own error on the case"
        + (" (ref_cnn in float32)" if about["dtype"] in ("bfloat16", "float16", "tf32") else ""),
    ]


def summary(results: Results) -> str:
    """'k/n cases pass' and the skipped count."""
    skipped = sum(r.status == "skip" for r in results)
    ran = len(results) - skipped
    text = f"{ran - len(results.failed)}/{ran} cases pass"
    if skipped:
        text += f", {skipped} skipped (not implemented by the target)"
    return text


def format_results(op: str, target: str, results: Results, only_failed: int = 0) -> str:
    """The table `python -m ref_cnn check` prints: one row per case (only the first
    `only_failed` failing ones when given), the summary, hints, the first failing case in full.
    """
    about = getattr(results, "about", {})
    width = max(len(r.id) for r in results)
    rows = [r for r in results if r.status == "FAIL"] if only_failed else list(results)
    lines = [*_header(op, target, about), ""]
    lines.append(f"{'case':<{width}}  result  {'error':>10}  {'bound':>8}  ref_cnn")
    lines += [_row(r, width) for r in rows[: only_failed or None]]
    if only_failed and len(rows) > only_failed:
        lines.append(f"… and {len(rows) - only_failed} more failing cases")
    lines += ["", summary(results)]
    lines += [f"hint: {h}" for h in getattr(results, "hints", [])]
    if results.failed:
        lines += ["", first_failure(results)]
    return "\n".join(lines)


def passed(results: Results) -> bool:
    """No case failed and at least one ran."""
    return not results.failed and any(r.status == "ok" for r in results)


def load(target: str) -> Callable:
    """'package.module:function' (or 'package.module:Class.method') → the function."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected PACKAGE.MODULE:FUNCTION, got {target!r}")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:  # the one-line fix, not a bare "No module named ..."
        missing = getattr(exc, "name", None) or module
        raise ImportError(
            f"cannot import {module!r} for {target} ({exc}): run from the folder that holds "
            f"{module.split('.')[0]}, or install it (pip install {missing.split('.')[0]})"
        ) from exc
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if not callable(obj):
        raise ValueError(f"{target}: no function named {name!r} in {module}")
    return obj
