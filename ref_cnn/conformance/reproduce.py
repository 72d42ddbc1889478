"""Reproducers: a failing case's arrays and a script that fails on its own.

`check(..., save=DIR)` writes, for each failing case, DIR/<op>-<case>.npz (the inputs as the
target got them, dy, and the witness's expected outputs, all NCHW) and DIR/<op>-<case>.py,
which imports the target, calls it once on those arrays the way the kit does and exits 1 if
an output is off by more than its bound (`python DIR/<op>-<case>.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

_SCRIPT = '''"""{op}, case {case}: {target} fails the conformance kit.

{detail}
Reproduce: python {script}   (exit status 1 while it fails)
Inputs and expected outputs (NCHW): {npz}
"""

import sys
from pathlib import Path

import numpy as np

from ref_cnn._metric import compare
from ref_cnn.conformance import load, targets
from ref_cnn.conformance.ops import OPS
from ref_cnn.conformance.precision import PRECISIONS

sys.path.insert(0, str(Path.cwd()))
data = np.load(Path(__file__).with_suffix(".npz"))
op = OPS[{spec!r}]
options = {kw!r}
arrays = {{name: data[name] if name in data else None for name in {args!r}}}
bounds = {bounds!r}

fn = load({target!r})
env = targets.Env(PRECISIONS[{precision!r}], {device!r}, {tf32!r})
run = {runner}
got = run(fn, op, arrays, data["dy"], options, {layout!r}, env)
failed = False
for name, bound in bounds.items():
    if got.get(name) is None:
        continue
    if isinstance(got[name], str):
        print(f"{{name}}: {{got[name]}}")
        failed = True
        continue
    c = compare(got[name], data["expected_" + name])
    ok = c.ok(bound)
    failed |= not ok
    print(f"{{name}}: {{'ok' if ok else 'FAIL'}}, {{c.describe(name, 'expected')}}; bound {{bound:.1e}}")
sys.exit(1 if failed else 0)
'''


def target_name(fn) -> str | None:
    """'module:qualname' when the function can be imported back by that name, else None."""
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not name or "<" in name or module == "__main__":
        return None
    return f"{module}:{name}"


def _runner(run) -> str:
    if run.framework == "numpy":
        return "targets.run_numpy_backward" if run.backward else "targets.run_numpy_forward"
    return f"targets.run_{run.framework}"


def _file_name(op: str, case_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{op}-{case_id}")


def write_reproducers(folder, run, op, cases, outcomes, target=None) -> list[Path]:
    """One npz and one script per failing case; returns the scripts' paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = target or target_name(run.fn)
    written = []
    for case, (result, data) in zip(cases, outcomes, strict=True):
        if result.status != "FAIL":
            continue
        name = _file_name(op, case["id"])  # may hold dots ("p-0.5-mask"): not a suffix
        npz, script_path = folder / f"{name}.npz", folder / f"{name}.py"
        arrays = {k: a for k, a in data["arrays"].items() if a is not None}
        expected = {f"expected_{n}": data["expected"][n] for n in data["names"]}
        np.savez(npz, dy=data["dy"], **arrays, **expected)
        if target is None:  # a local function: the arrays are saved, the script cannot import it
            continue
        script = _SCRIPT.format(
            op=op,
            case=case["id"],
            target=target,
            detail=result.detail,
            script=script_path,
            npz=npz,
            spec=run.spec.name,
            kw=case.get("kw", {}),
            args=run.spec.args,
            bounds={n: float(b) for n, b in data["bounds"].items()},
            precision=run.precision.name,
            device=run.env.device,
            tf32=run.env.tf32,
            runner=_runner(run),
            layout=run.layout,
        )
        script_path.write_text(script, encoding="utf-8")
        written.append(script_path)
    return written
