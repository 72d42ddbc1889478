"""check(fn, op): run every case of an op against a function and judge it with the one metric.

For each case: seeded float64 inputs rounded to the requested precision; the witness (torch
float64 autograd on the CPU, fed those rounded values) gives y and every gradient for one
random upstream gradient dy; the target's outputs are compared with `ref_cnn._metric.compare`.
Bounds: float64 1e-10 relative; lower precisions `Precision.bound` of torch's own error at
that precision on the same case and output. ref_cnn's own error on the case is shown next
to the target's.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ref_cnn._metric import compare
from ref_cnn.conformance import hints, targets, witness
from ref_cnn.conformance.ops import Op, resolve
from ref_cnn.conformance.precision import Precision, precision, round_to

SEED = 0


@dataclass
class CaseResult:
    id: str
    status: str  # "ok", "FAIL" or "skip" (the target raised NotImplementedError)
    worst_rel: float  # the target's error on its worst output (worst relative to the bound)
    worst_rel_ref_cnn: float  # ref_cnn's on the same outputs (nan when not computed)
    bound: float = 1e-10
    detail: str = ""  # for a failure: the wrong output and where its largest error sits
    inputs: dict = field(default_factory=dict)
    unchecked: tuple[str, ...] = ()  # outputs the target did not return (None)
    raised: str = ""  # the exception's type name when the target raised
    hint: str = ""  # what the usual cause of this failure is

    @property
    def ok(self) -> bool:
        """Whether the case passed (a skipped case is not a failure)."""
        return self.status == "ok"


class Results(list):
    """The case results, with what was run: op, dtype, layout, framework, witness."""

    def __init__(self, results, **about):
        super().__init__(results)
        self.about = about
        self.hints: list[str] = []

    @property
    def failed(self) -> list[CaseResult]:
        """The cases that failed."""
        return [r for r in self if r.status == "FAIL"]


@dataclass(frozen=True)
class Run:
    """Everything a case needs besides the case itself."""

    fn: Callable
    spec: Op
    backward: bool
    framework: str
    precision: Precision
    layout: str
    rtol: float | None
    use_torch: bool
    env: targets.Env


def _framework(fn, spec: Op, backward: bool, framework: str, first: dict, layout: str) -> str:
    if framework not in targets.FRAMEWORKS:
        raise ValueError(f"framework must be one of {targets.FRAMEWORKS}, got {framework!r}")
    if backward:
        if framework not in ("auto", "numpy"):
            raise ValueError(
                f"a {framework} target is checked as a forward function, its gradients through "
                f"autograd: use --op {spec.name}"
            )
        return "numpy"
    if framework != "auto":
        return framework
    found = targets.detect(fn)
    if found == "numpy":
        args = spec.inputs(first, np.random.default_rng(SEED))
        found = targets.probe(fn, spec, args, first.get("kw", {}), layout)
    return found


def case_inputs(spec: Op, case: dict, p: Precision) -> tuple[dict, np.random.Generator]:
    """The case's seeded inputs rounded to p (in p's storage dtype), and the generator that
    draws dy next."""
    rng = np.random.default_rng(SEED)
    arrays = spec.inputs(case, rng)
    rounded = {
        k: a if a is None or a.dtype.kind != "f" else round_to(a, p) for k, a in arrays.items()
    }
    return rounded, rng


def _upcast(arrays: dict, dtype=np.float64) -> dict:
    return {
        k: a if a is None or a.dtype.kind != "f" else a.astype(np.promote_types(a.dtype, dtype))
        for k, a in arrays.items()
    }


def _ref_cnn(spec: Op, arrays: dict, kw: dict, dy) -> dict:
    """ref_cnn's outputs on the case, in float32 at least (it has no float16)."""
    dy = dy.astype(np.promote_types(dy.dtype, np.float32))
    return witness.ref_cnn_outputs(spec, _upcast(arrays, np.float32), kw, lambda shape: dy)


def _judge(name, got, expected, dtype):
    """(comparison or None, problem string) for one output."""
    if isinstance(got, str):
        return None, f"{name}: {got}"
    got = np.asarray(got)
    if got.dtype != dtype and got.shape == expected.shape:
        return None, f"{name}: dtype {got.dtype}, expected {dtype} (the output follows the input)"
    return compare(got, expected), ""


def _output_names(spec: Op, backward: bool, fw: str, arrays: dict) -> tuple[str, ...]:
    if backward:
        return spec.grads
    if fw == "numpy":
        return ("y",)
    return ("y", *(f"d{n}" for n in spec.differentiable(arrays)))


def _describe_inputs(run: Run, arrays: dict, dy, kw: dict) -> dict:
    """What the target was given: dy and the backward's arrays for a backward op, the
    forward's present arguments otherwise (NCHW, and as passed in another layout)."""
    spec = run.spec
    given = {"dy": dy, **{k: arrays[k] for k in spec.backward_args}} if run.backward else arrays
    given = {k: a for k, a in given.items() if a is not None}
    inputs = {"shapes": {k: a.shape for k, a in given.items()}, "options": kw}
    if run.layout != "nchw":
        inputs["passed"] = {
            k: targets.to_layout(spec, "y" if k == "dy" else k, a, run.layout).shape
            for k, a in given.items()
        }
    return inputs


def _ratio(c, problem: str, bound: float) -> float:
    """error / bound: above 1 fails; a misplaced NaN, a wrong shape or dtype is infinite."""
    if problem or c.problem:
        return float("inf")
    if bound > 0:
        return c.rel_err / bound
    return 0.0 if c.rel_err == 0 else float("inf")


def _bounds(run: Run, names, arrays, kw, dy, expected) -> dict[str, float]:
    """Each output's bound: the fixed rtol, 1e-10 in float64, else the precision's rule on a
    reference's error. float32: torch's own float32 op. bfloat16, float16, tf32: torch's
    float32 op on the same rounded inputs with each output rounded once to the precision (torch's
    CPU ops at bf16/fp16 round some intermediates and not others; its CPU has no TF32)."""
    p = run.precision
    if run.rtol is not None or p.name == "float64":
        return dict.fromkeys(names, p.bound(0.0) if run.rtol is None else run.rtol)
    if run.use_torch:
        dy32 = dy.astype(np.float32)
        own = witness.torch_outputs(run.spec, _upcast(arrays, np.float32), kw, lambda s: dy32)
    else:
        own = _ref_cnn(run.spec, arrays, kw, dy)
    if p.name in ("bfloat16", "float16"):  # rounded once, as by a kernel accumulating in float32
        own = {n: round_to(own[n].astype(np.float64), p) for n in names}
    return {n: p.bound(compare(own[n], expected[n]).rel_err) for n in names}


def _call(run: Run, arrays, dy, kw):
    if run.framework == "numpy":
        runner = targets.run_numpy_backward if run.backward else targets.run_numpy_forward
    else:
        runner = targets.RUNNERS[run.framework]
    copies = {k: None if a is None else a.copy() for k, a in arrays.items()}
    return runner(run.fn, run.spec, copies, dy, kw, run.layout, run.env)


def run_case(run: Run, case: dict) -> tuple[CaseResult, dict]:
    """One case's result, and what a reproducer needs: {"arrays", "dy", "expected", "bounds"}."""
    spec, p = run.spec, run.precision
    kw = case.get("kw", {})
    arrays, rng = case_inputs(spec, case, p)
    dy_box = {}

    def make_dy(shape):  # one upstream gradient per case, drawn once y's shape is known
        if "dy" not in dy_box:
            dy_box["dy"] = round_to(rng.standard_normal(shape), p)
        return dy_box["dy"].astype(np.float64)

    expected = witness.outputs(spec, _upcast(arrays), kw, make_dy, run.use_torch)
    dy = dy_box["dy"]
    names = _output_names(spec, run.backward, run.framework, arrays)
    names = tuple(n for n in names if expected.get(n) is not None)  # no weight, no dweight
    bounds = _bounds(run, names, arrays, kw, dy, expected)
    data = {"arrays": arrays, "dy": dy, "expected": expected, "bounds": bounds, "names": names}
    inputs = _describe_inputs(run, arrays, dy, kw)
    result = CaseResult(case["id"], "ok", 0.0, float("nan"), bounds[names[0]], inputs=inputs)
    if run.use_torch:  # ref_cnn's own error on the same case, for comparison
        mine = _ref_cnn(spec, arrays, kw, dy)
        result.worst_rel_ref_cnn = max(compare(mine[n], expected[n]).rel_err for n in names)
    try:
        got = _call(run, arrays, dy, kw)
    except NotImplementedError as exc:
        result.status, result.detail = "skip", f"not implemented: {exc}"
        return result, data
    except Exception as exc:  # noqa: BLE001 - any failure of the checked code is a result
        result.status, result.worst_rel, result.raised = "FAIL", float("inf"), type(exc).__name__
        result.detail = f"raised {type(exc).__name__}: {exc}{hints.where(exc)}"
        result.hint = hints.for_exception(exc, case, arrays, run.layout, spec.unbatched_3d)
        return result, data

    worst_ratio, unchecked = -1.0, []
    for name in names:
        if got.get(name) is None:  # a NumPy backward that does not compute this gradient
            unchecked.append(name)
            continue
        c, problem = _judge(name, got[name], expected[name], p.storage)
        ratio = _ratio(c, problem, bounds[name])
        if ratio > worst_ratio:
            worst_ratio, result.bound = ratio, bounds[name]
            result.worst_rel = float("inf") if problem else c.rel_err
            result.detail = problem or c.describe(name, "torch" if run.use_torch else "ref_cnn")
    result.unchecked = tuple(unchecked)
    if len(unchecked) == len(names):
        result.status = "FAIL"
        result.detail = f"returned no output to check ({', '.join(names)} all None)"
    elif worst_ratio > 1:
        result.status = "FAIL"
    else:
        result.detail = ""
    return result, data


def select_cases(cases: list[dict], pattern: str | None) -> list[dict]:
    """The cases whose id matches `pattern`: a glob (`tile-*`) or a substring (`ceil`);
    several patterns may be joined by commas."""
    if not pattern:
        return list(cases)
    parts = [s.strip() for s in pattern.split(",") if s.strip()]

    def match(name):
        return any(
            fnmatch.fnmatchcase(name, s) if any(c in s for c in "*?[") else s in name for s in parts
        )

    chosen = [c for c in cases if match(c["id"])]
    if not chosen:
        raise ValueError(
            f"no case matches {pattern!r}; the cases: {', '.join(c['id'] for c in cases)}"
        )
    return chosen


def prepare(
    fn, op, dtype=np.float64, layout="nchw", framework="auto", rtol=None, device="cpu", tf32=False
) -> Run:
    """Check the arguments once and settle the framework, precision and device."""
    spec, backward = resolve(op)
    p = precision(dtype)
    if layout not in targets.LAYOUTS:
        raise ValueError(f"layout must be one of {targets.LAYOUTS}, got {layout!r}")
    if layout == "nhwc" and not spec.spatial:
        raise ValueError(f"{spec.name} has no image-shaped input: use layout 'nchw'")
    if layout == "nhwc" and not spec.nhwc:
        raise ValueError(f"{spec.name}'s options name NCHW axes: it is checked in layout 'nchw'")
    fw = _framework(fn, spec, backward, framework, spec.cases[0], layout)
    if fw == "numpy" and not p.numpy_ok:
        raise ValueError(
            f"{p.name} is for torch and JAX targets (NumPy has no such dtype); a NumPy target "
            "is checked in float64, float32 or float16"
        )
    if (p.tf32 or tf32) and fw != "torch":
        raise ValueError("TF32 is a torch setting: --dtype tf32 and --tf32 need a torch target")
    if tf32 and p.name != "float32":
        raise ValueError("--tf32 runs a float32 check with TF32 on: use it with --dtype float32")
    use_torch = witness.torch_available()
    if not use_torch and p.name in ("bfloat16", "tf32"):
        raise ValueError(f"a {p.name} check needs torch (its witness and bound come from torch)")
    env = targets.Env(p, targets.check_device(fw, device), bool(tf32))
    return Run(fn, spec, backward, fw, p, layout, rtol, use_torch, env)


def about(run: Run, op: str) -> dict:
    """What was run, for the table's header and machine-readable results."""
    p = run.precision
    rule = f"fixed rtol {run.rtol:.0e}" if run.rtol is not None else p.rule()
    if not run.use_torch and p.name != "float64":
        rule = rule.replace("torch", "ref_cnn")
    return {
        "op": op,
        "dtype": p.name,
        "layout": run.layout,
        "framework": run.framework,
        "device": run.env.device,
        "tf32": bool(p.tf32 or run.env.tf32),
        "witness": "torch float64 autograd (CPU)"
        if run.use_torch
        else "ref_cnn float64 (torch not installed)",
        "rule": rule,
    }


def check(
    fn: Callable,
    op: str,
    dtype=np.float64,
    layout: str = "nchw",
    framework: str = "auto",
    rtol: float | None = None,
    device: str = "cpu",
    tf32: bool = False,
    cases: str | list[dict] | None = None,
    save=None,
    target: str | None = None,
) -> Results:
    """Run every case of `op` against `fn`; see the package docstring for what fn may be.

    dtype: float64, float32, float16, bfloat16 or tf32 (a name or a NumPy dtype). rtol: a
    fixed bound instead of the precision's. device: where torch and JAX targets get their
    inputs. tf32: TF32 on in a float32 check of a torch target. cases: a pattern selecting
    cases by id (glob or substring, comma-separated), or a list of case dicts to run instead.
    save: a folder that receives, for each failing case, its arrays (npz) and a script that
    reproduces the failure; target: "module:function" for that script (default: fn's own).
    """
    run = prepare(fn, op, dtype, layout, framework, rtol, device, tf32)
    chosen = cases if isinstance(cases, list) else select_cases(run.spec.cases, cases)
    outcomes = [run_case(run, case) for case in chosen]
    results = Results([r for r, _ in outcomes], **about(run, op))
    results.hints = hints.for_results(run, results, chosen)
    if save is not None and results.failed:
        from ref_cnn.conformance.reproduce import write_reproducers

        write_reproducers(save, run, op, chosen, outcomes, target)
    return results
