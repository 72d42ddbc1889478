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

Every case is compared with torch's float64 autograd on the same values with
`ref_cnn._metric.compare` (NaN and ±inf must sit where torch's do; then the norm-wise
relative error). The bound is 1e-10 in float64; in float32 it is ten times torch float32's
own error against float64 on the same case and output (at least ten float32 ulps). The
table shows the worst error per case and ref_cnn's own, and the first failing case in full.
A target that raises NotImplementedError for a case's options has that case skipped.
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
from ref_cnn.conformance.kit import CaseResult, Results, check
from ref_cnn.conformance.ops import OP_NAMES, OPS
from ref_cnn.conformance.targets import FRAMEWORKS, LAYOUTS

__all__ = [
    "AVG_POOL_CASES",
    "BATCH_NORM_CASES",
    "CONV_CASES",
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
]


def first_failure(results: Results) -> str:
    """The first failing case in full: shapes, options, which output, where the error sits."""
    failed = results.failed
    if not failed:
        return ""
    f = failed[0]
    shapes = ", ".join(f"{k} {v}" for k, v in f.inputs["shapes"].items() if v is not None)
    lines = [f"first failing case: {f.id}", f"  inputs: {shapes}; options {f.inputs['options']}"]
    if "passed" in f.inputs:
        passed = ", ".join(f"{k} {v}" for k, v in f.inputs["passed"].items())
        lines.append(
            f"  as passed ({results.about['layout'].upper()}): {passed}; indices below are NCHW"
        )
    return "\n".join([*lines, f"  {f.detail}"])


def format_results(op: str, target: str, results: Results) -> str:
    """The table `python -m ref_cnn check` prints: one row per case, then the first
    failing case in full.
    """
    about = getattr(results, "about", {})
    width = max(len(r.id) for r in results)
    head = f"{op}: {target}"
    if about:
        head += (
            f" ({about['framework']}, {about['dtype']}, {about['layout'].upper()}) against "
            f"{about['witness']} and ref_cnn; {about['rule']}"
        )
    lines = [head, "", f"{'case':<{width}}  result  rel. error  bound     (ref_cnn)"]
    for r in results:
        note = f"  {r.detail}" if r.status == "skip" else ""
        if r.unchecked and r.status == "ok":
            note = f"  not checked: {', '.join(r.unchecked)} (returned None)"
        if r.status == "skip":
            lines.append(f"{r.id:<{width}}  skip  {note}")
            continue
        lines.append(
            f"{r.id:<{width}}  {r.status:<6}  {r.worst_rel:10.2e}  {r.bound:8.1e}  "
            f"({r.worst_rel_ref_cnn:.1e}){note}"
        )
    failed = [r for r in results if r.status == "FAIL"]
    skipped = sum(r.status == "skip" for r in results)
    ran = len(results) - skipped
    summary = f"{ran - len(failed)}/{ran} cases pass"
    if skipped:
        summary += f", {skipped} skipped (not implemented by the target)"
    lines += ["", summary]
    if failed:
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
