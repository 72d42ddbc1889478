"""check(fn, op): run every case of an op against a function and judge it with the one metric.

For each case: seeded inputs in the requested dtype; the witness (torch float64 autograd,
fed the same values upcast) gives y and every gradient for one random upstream gradient
dy; the target's outputs are compared with `ref_cnn._metric.compare`. Bounds: float64
1e-10 relative; float32 `float32_bound` of torch's own float32 error on the same case and
output. ref_cnn's own error on the case is shown next to the target's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ref_cnn._metric import RTOL64, compare, float32_bound
from ref_cnn.conformance import targets, witness
from ref_cnn.conformance.ops import Op, resolve

SEED = 0


@dataclass
class CaseResult:
    id: str
    status: str  # "ok", "FAIL" or "skip" (the target raised NotImplementedError)
    worst_rel: float  # the target's error on its worst output (worst relative to the bound)
    worst_rel_ref_cnn: float  # ref_cnn's on the same outputs (nan when ref_cnn is the witness)
    bound: float = RTOL64
    detail: str = ""  # for a failure: the wrong output and where its largest error sits
    inputs: dict = field(default_factory=dict)
    unchecked: tuple[str, ...] = ()  # outputs the target did not return (None)

    @property
    def ok(self) -> bool:
        """Whether the case passed (a skipped case is not a failure)."""
        return self.status == "ok"


class Results(list):
    """The case results, with what was run: op, dtype, layout, framework, witness."""

    def __init__(self, results, **about):
        super().__init__(results)
        self.about = about

    @property
    def failed(self) -> list[CaseResult]:
        """The cases that failed."""
        return [r for r in self if r.status == "FAIL"]


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


def _inputs(spec: Op, case: dict, dtype: np.dtype, rng) -> dict:
    arrays = spec.inputs(case, rng)
    return {
        k: a if a is None or a.dtype.kind != "f" else a.astype(dtype) for k, a in arrays.items()
    }


def _upcast(arrays: dict) -> dict:
    return {
        k: a if a is None or a.dtype.kind != "f" else a.astype(np.float64)
        for k, a in arrays.items()
    }


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


def _describe_inputs(spec: Op, arrays: dict, kw: dict, layout: str) -> dict:
    inputs = {
        "shapes": {k: None if a is None else a.shape for k, a in arrays.items()},
        "options": kw,
    }
    if layout != "nchw":
        inputs["passed"] = {
            k: targets.to_layout(spec, k, a, layout).shape
            for k, a in arrays.items()
            if a is not None
        }
    return inputs


def _ratio(c, problem: str, bound: float) -> float:
    """error / bound: above 1 fails; a misplaced NaN, a wrong shape or dtype is infinite."""
    if problem or c.problem:
        return float("inf")
    if bound > 0:
        return c.rel_err / bound
    return 0.0 if c.rel_err == 0 else float("inf")


def _run_case(fn, spec, backward, fw, case, dtype, layout, rtol, use_torch) -> CaseResult:
    kw = case.get("kw", {})
    rng = np.random.default_rng(SEED)
    arrays = _inputs(spec, case, dtype, rng)
    dy_box = {}

    def make_dy(shape):  # one upstream gradient per case, drawn once y's shape is known
        if "dy" not in dy_box:
            dy_box["dy"] = rng.standard_normal(shape).astype(dtype)
        return dy_box["dy"].astype(np.float64)

    expected = witness.outputs(spec, _upcast(arrays), kw, make_dy, use_torch)
    dy = dy_box["dy"]
    names = _output_names(spec, backward, fw, arrays)
    bounds = dict.fromkeys(names, RTOL64 if rtol is None else rtol)
    if dtype == np.float32 and rtol is None:  # the witness library's own float32 error
        own = witness.outputs(spec, arrays, kw, lambda shape: dy, use_torch)
        bounds = {n: float32_bound(compare(own[n], expected[n]).rel_err) for n in names}
    inputs = _describe_inputs(spec, arrays, kw, layout)
    result = CaseResult(case["id"], "ok", 0.0, float("nan"), bounds[names[0]], inputs=inputs)
    if fw == "numpy":
        runner = targets.run_numpy_backward if backward else targets.run_numpy_forward
    else:
        runner = targets.RUNNERS[fw]
    copies = {k: None if a is None else a.copy() for k, a in arrays.items()}
    try:
        got = runner(fn, spec, copies, dy, kw, layout)
    except NotImplementedError as exc:
        result.status, result.detail = "skip", f"not implemented: {exc}"
        return result
    except Exception as exc:  # noqa: BLE001 - any failure of the checked code is a result
        result.status, result.worst_rel = "FAIL", float("inf")
        result.detail = f"raised {type(exc).__name__}: {exc}"
        return result

    worst_ratio, unchecked = -1.0, []
    for name in names:
        if got.get(name) is None:  # a NumPy backward that does not compute this gradient
            unchecked.append(name)
            continue
        c, problem = _judge(name, got[name], expected[name], dtype)
        ratio = _ratio(c, problem, bounds[name])
        if ratio > worst_ratio:
            worst_ratio, result.bound = ratio, bounds[name]
            result.worst_rel = float("inf") if problem else c.rel_err
            result.detail = problem or c.describe(name, "torch" if use_torch else "ref_cnn")
    result.unchecked = tuple(unchecked)
    if len(unchecked) == len(names):
        result.status = "FAIL"
        result.detail = f"returned no output to check ({', '.join(names)} all None)"
    elif worst_ratio > 1:
        result.status = "FAIL"
    else:
        result.detail = ""
    if use_torch:  # ref_cnn's own error on the same case, for comparison
        mine = witness.ref_cnn_outputs(spec, arrays, kw, lambda shape: dy)
        result.worst_rel_ref_cnn = max(compare(mine[n], expected[n]).rel_err for n in names)
    return result


def check(
    fn: Callable,
    op: str,
    dtype=np.float64,
    layout: str = "nchw",
    framework: str = "auto",
    rtol: float | None = None,
) -> Results:
    """Run every case of `op` against `fn`; see the package docstring for what fn may be.

    rtol: a fixed bound instead of the default (1e-10 for float64, the float32 rule).
    """
    spec, backward = resolve(op)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if layout not in targets.LAYOUTS:
        raise ValueError(f"layout must be one of {targets.LAYOUTS}, got {layout!r}")
    if layout == "nhwc" and not spec.spatial:
        raise ValueError(f"{spec.name} has no image-shaped input: use layout 'nchw'")
    if layout == "nhwc" and not spec.nhwc:
        raise ValueError(f"{spec.name}'s options name NCHW axes: it is checked in layout 'nchw'")
    fw = _framework(fn, spec, backward, framework, spec.cases[0], layout)
    use_torch = witness.torch_available()
    results = [
        _run_case(fn, spec, backward, fw, case, dtype, layout, rtol, use_torch)
        for case in spec.cases
    ]
    return Results(
        results,
        op=op,
        dtype=str(dtype),
        layout=layout,
        framework=fw,
        witness="torch float64 autograd" if use_torch else "ref_cnn float64 (torch not installed)",
        rule=(
            f"fixed rtol {rtol:.0e}"
            if rtol is not None
            else "rtol 1e-10"
            if dtype == np.float64
            else f"float32 rule: 10·max({'torch' if use_torch else 'ref_cnn'} float32's own error, ε32)"
        ),
    )
