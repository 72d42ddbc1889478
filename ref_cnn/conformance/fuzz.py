"""A seeded fuzzer: random valid option combinations and shapes, a failure shrunk to a small case.

    python -m ref_cnn check mypkg:conv2d --op conv2d --fuzz 200 --seed 1

Each draw picks the op's options (stride, padding — numbers or "same"/"valid" —, dilation,
groups, ceil_mode, count_include_pad, divisor_override, bias, unbatched input) and shapes,
often past the sizes where kernels tile (channels 65–100, extents up to 70) and keeps the
draws the witness accepts. The first failing draw is shrunk greedily: each size or option in
turn goes to its smallest value, half, three quarters … one less, and a change is kept while
the case still fails. The result is printed as a case the kit can run again
(`check(fn, op, cases=[case])`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ref_cnn.conformance import witness
from ref_cnn.conformance.kit import CaseResult, Run, case_inputs, run_case

FUZZ_OPS = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "linear")
MAX_SHRINK_RUNS = 400


def _channels(rng, small=8) -> int:
    return int(rng.integers(65, 101)) if rng.random() < 0.15 else int(rng.integers(1, small + 1))


def _draw_conv(rng, transpose: bool) -> dict:
    big = rng.random() < 0.3  # extents past 32, fewer channels then
    p = {
        "n": int(rng.integers(1, 4)),
        "g": int(rng.choice([1, 1, 1, 2, 3])),
        "cin": _channels(rng, 4),
        "cout": _channels(rng, 4) if not big else int(rng.integers(1, 5)),
        "kh": int(rng.integers(1, 8)),
        "kw": int(rng.integers(1, 8)),
        "sh": int(rng.integers(1, 4)),
        "sw": int(rng.integers(1, 4)),
        "dh": int(rng.choice([1, 1, 2, 3])),
        "dw": int(rng.choice([1, 1, 2, 3])),
        "bias": bool(rng.random() < 0.8),
        "unbatched": bool(rng.random() < 0.1),
        "pad_mode": "num",
    }
    if big:
        p["cin"] = min(p["cin"], 4)
    p["ph"], p["pw"] = int(rng.integers(0, p["kh"])), int(rng.integers(0, p["kw"]))
    if transpose:
        p["oph"], p["opw"] = int(rng.integers(0, 3)), int(rng.integers(0, 3))
        extent = (3, 20) if not big else (17, 36)
    else:
        if rng.random() < 0.15:
            p["pad_mode"] = str(rng.choice(["same", "valid"]))
        extent = (1, 14) if not big else (33, 71)
    if p["cin"] > 32 or p["cout"] > 32:
        extent = (1, 10)
    p["h"], p["w"] = (int(rng.integers(*extent)) for _ in range(2))
    return p


def _conv_case(p: dict, transpose: bool) -> dict:
    g = p["g"]
    x = (p["n"], g * p["cin"], p["h"], p["w"])
    w = (
        (g * p["cin"], p["cout"], p["kh"], p["kw"])
        if transpose
        else (g * p["cout"], p["cin"], p["kh"], p["kw"])
    )
    kw = {"stride": (p["sh"], p["sw"]), "dilation": (p["dh"], p["dw"])}
    kw["padding"] = (p["ph"], p["pw"]) if p["pad_mode"] == "num" else p["pad_mode"]
    if g > 1:
        kw["groups"] = g
    if transpose:
        kw["output_padding"] = (p["oph"], p["opw"])
    if p["pad_mode"] == "same":
        del kw["stride"]  # torch: padding="same" takes stride 1 only
    return {"x": x[1:] if p["unbatched"] else x, "w": w, "bias": p["bias"], "kw": kw}


def _draw_pool(rng, op: str) -> dict:
    big = rng.random() < 0.3
    k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    p = {
        "n": int(rng.integers(1, 4)),
        "c": _channels(rng) if not big else int(rng.integers(1, 5)),
        "kh": k[0],
        "kw": k[1],
        "sh": int(rng.integers(1, 5)),
        "sw": int(rng.integers(1, 5)),
        "ph": int(rng.integers(0, k[0] // 2 + 1)),
        "pw": int(rng.integers(0, k[1] // 2 + 1)),
        "ceil": bool(rng.random() < 0.4),
        "unbatched": bool(rng.random() < 0.1),
    }
    if op == "max_pool2d":
        p["dh"], p["dw"] = int(rng.choice([1, 1, 2, 3])), int(rng.choice([1, 1, 2]))
    else:
        p["count_pad"] = bool(rng.random() < 0.6)
        p["divisor"] = int(rng.integers(1, 10)) if rng.random() < 0.1 else 0
    extent = (33, 71) if big else (1, 16)
    p["h"], p["w"] = (int(rng.integers(*extent)) for _ in range(2))
    return p


def _pool_case(p: dict, op: str) -> dict:
    shape = (p["n"], p["c"], p["h"], p["w"])
    kw = {"kernel_size": (p["kh"], p["kw"]), "stride": (p["sh"], p["sw"])}
    kw["padding"] = (p["ph"], p["pw"])
    if op == "max_pool2d":
        kw["dilation"] = (p["dh"], p["dw"])
    else:
        kw["count_include_pad"] = p["count_pad"]
        if p["divisor"]:
            kw["divisor_override"] = p["divisor"]
    kw["ceil_mode"] = p["ceil"]
    return {"x": shape[1:] if p["unbatched"] else shape, "kw": kw}


def _draw_linear(rng) -> dict:
    def size():
        return int(rng.integers(60, 141)) if rng.random() < 0.3 else int(rng.integers(1, 41))

    return {"n": size(), "m": size(), "k": size()}


def draw(op: str, rng) -> dict:
    """Random parameters for one case of `op` (not yet checked for validity)."""
    if op in ("conv2d", "conv_transpose2d"):
        return _draw_conv(rng, op == "conv_transpose2d")
    if op in ("max_pool2d", "avg_pool2d"):
        return _draw_pool(rng, op)
    return _draw_linear(rng)


def build(op: str, params: dict, case_id: str) -> dict:
    """The kit's case dict from drawn parameters."""
    if op in ("conv2d", "conv_transpose2d"):
        case = _conv_case(params, op == "conv_transpose2d")
    elif op in ("max_pool2d", "avg_pool2d"):
        case = _pool_case(params, op)
    else:
        case = {"shape": (params["n"], params["m"], params["k"])}
    return {"id": case_id, **case}


def describe(case: dict) -> str:
    """A case in one line: its shapes and options."""
    shapes = ", ".join(f"{k} {case[k]}" for k in ("x", "w", "shape") if k in case)
    bias = "" if case.get("bias", True) else ", no bias"
    options = ", ".join(f"{k}={v!r}" for k, v in case.get("kw", {}).items())
    return f"{shapes}{bias}" + (f"; {options}" if options else "")


def _window_in_padding(case: dict) -> bool:
    """Whether a max-pool window reads padding only (dilation can step over every input row):
    torch 2.14's forward returns -inf there with an index past the plane, and its backward
    writes through that index (heap corruption, seen as a crash in 'double free')."""
    kw = case["kw"]
    k = fuzz_pair(kw["kernel_size"])
    s = fuzz_pair(kw.get("stride") or kw["kernel_size"])
    p, d = fuzz_pair(kw.get("padding", 0)), fuzz_pair(kw.get("dilation", 1))
    for n, kk, ss, pp, dd in zip(case["x"][-2:], k, s, p, d, strict=True):
        span = (n + 2 * pp - dd * (kk - 1) - 1) / ss
        out = (int(np.ceil(span)) if kw.get("ceil_mode") else int(np.floor(span))) + 1
        if kw.get("ceil_mode") and (out - 1) * ss >= n + pp:
            out -= 1
        for o in range(max(out, 0)):
            if not any(0 <= o * ss - pp + dd * j < n for j in range(kk)):
                return True
    return False


def fuzz_pair(v) -> tuple[int, int]:
    """An int or a pair as a pair."""
    return (v, v) if isinstance(v, int) else tuple(v)


def valid(run: Run, case: dict) -> bool:
    """Whether the witness accepts the case (torch, or ref_cnn without torch)."""
    if run.spec.name == "max_pool2d" and _window_in_padding(case):
        return False
    arrays, _ = case_inputs(run.spec, case, run.precision)
    arrays = {k: None if a is None else a.astype(np.float64) for k, a in arrays.items()}
    try:
        witness.outputs(run.spec, arrays, case.get("kw", {}), np.ones, run.use_torch)
    except Exception:  # noqa: BLE001 - an option combination torch rejects
        return False
    return True


_FLAGS = {"bias": False, "unbatched": False, "ceil": False, "count_pad": True, "divisor": 0}
_LOWEST = {"ph": 0, "pw": 0, "oph": 0, "opw": 0}


def _smaller(key: str, value):
    """Values to try in place of one parameter, smallest first."""
    if key in _FLAGS:
        return [_FLAGS[key]] if value != _FLAGS[key] else []
    if key == "pad_mode":
        return ["num"] if value != "num" else []
    low = _LOWEST.get(key, 1)
    if value <= low:
        return []
    steps = [value - ((value - low) >> k) for k in range(1, (value - low).bit_length() + 1)]
    return sorted({low, (low + value) // 2, *steps} - {value})


@dataclass
class FuzzReport:
    op: str
    seed: int
    tried: int = 0  # valid draws run
    failure: dict | None = None  # the first failing draw
    shrunk: dict | None = None  # the smallest failing case found from it
    result: CaseResult | None = None  # the shrunk case's result
    runs: int = 0  # cases run while shrinking
    skipped: int = 0  # draws the target declined (NotImplementedError)
    outcomes: list = field(default_factory=list)  # [(shrunk case, (result, data))] for --save


def _fails(run, op, params, case_id):
    case = build(op, params, case_id)
    if not valid(run, case):
        return None
    outcome = run_case(run, case)
    return (case, outcome) if outcome[0].status == "FAIL" else None


def shrink(run: Run, op: str, params: dict, outcome, case_id: str, budget=MAX_SHRINK_RUNS):
    """Greedy shrinking: (parameters, (case, (result, data)), cases run)."""
    runs, improved = 0, True
    while improved and runs < budget:
        improved = False
        for key in list(params):
            for value in _smaller(key, params[key]):
                trial = {**params, key: value}
                runs += 1
                found = _fails(run, op, trial, case_id)
                if found:
                    params, outcome, improved = trial, found, True
                    break
            if runs >= budget:
                break
    return params, outcome, runs


def fuzz(run: Run, op: str, n: int, seed: int) -> FuzzReport:
    """n valid random cases of op against run's target; the first failure shrunk."""
    if run.spec.name not in FUZZ_OPS:
        raise ValueError(f"--fuzz draws cases for {', '.join(FUZZ_OPS)}; {op} has its fixed cases")
    rng = np.random.default_rng(seed)
    report = FuzzReport(op, seed)
    while report.tried < n:
        params = draw(run.spec.name, rng)
        case = build(run.spec.name, params, f"fuzz-{seed}-{report.tried}")
        if not valid(run, case):
            continue
        report.tried += 1
        result, data = run_case(run, case)
        report.skipped += result.status == "skip"
        if result.status != "FAIL":
            continue
        report.failure = case
        shrunk_id = f"fuzz-{seed}-{report.tried - 1}-shrunk"
        _, (small, outcome), report.runs = shrink(
            run, run.spec.name, params, (case, (result, data)), shrunk_id
        )
        report.shrunk, report.result = small, outcome[0]
        report.outcomes = [(small, outcome)]
        break
    return report


def _settings(run: Run) -> str:
    """check()'s keyword arguments that differ from the defaults, as Python source."""
    out = {
        "dtype": (run.precision.name, "float64"),
        "layout": (run.layout, "nchw"),
        "device": (run.env.device, "cpu"),
        "tf32": (run.env.tf32, False),
    }
    return "".join(f", {k}={v!r}" for k, (v, default) in out.items() if v != default)


def format_report(report: FuzzReport, target: str, run: Run | None = None) -> str:
    """What the fuzzer tried and the smallest failing case, as a reproducer."""
    head = f"fuzz {report.op}: {report.tried} random valid cases (seed {report.seed})"
    if report.skipped:
        head += f", {report.skipped} declined by the target (NotImplementedError)"
    if report.shrunk is None:
        return f"{head}: every one passes"
    r = report.result
    case = report.shrunk
    return "\n".join(
        [
            f"{head}: case {report.tried} fails",
            f"  drawn:  {describe(report.failure)}",
            f"  shrunk ({report.runs} cases run): {describe(report.shrunk)}",
            f"  {r.detail}",
            "reproduce:",
            "  from ref_cnn.conformance import check, format_results, load",
            f"  results = check(load({target!r}), {report.op!r}, cases=[{case!r}]"
            f"{_settings(run) if run else ''})",
            f"  print(format_results({report.op!r}, {target!r}, results))",
        ]
    )
