"""A conformance kit: the parity suite's cases, runnable against anyone's implementation.

    python -m ref_cnn check mypkg.layers:conv2d_backward --op conv2d_backward

or from Python, `check(my_fn, "conv2d_backward")`. The function must have the signature of
`../shared/API.md` (the same as `ref_cnn.functional`). Every case is compared with torch
(float64, autograd with a random upstream gradient) and with ref_cnn; the table shows the
worst relative error per case and the first failing case is shown in full: shapes,
options, which output is wrong and where its largest error sits.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ref_cnn import functional as F
from ref_cnn._extras import require

RTOL = 1e-10


def _conv(id_, x, w, bias=True, **kw):
    return {"id": id_, "x": x, "w": w, "bias": bias, "kw": kw}


# (N, C_in, H, W), (C_out, C_in/groups, kH, kW): each names the edge case it covers
CONV_CASES = [
    _conv("MB-5-multichannel-cin3-cout4", (2, 3, 7, 6), (4, 3, 3, 3)),
    _conv("AV-14-av-layer-nobias", (3, 1, 12, 12), (3, 1, 5, 5), bias=False),
    _conv("MB-3-p1", (2, 2, 6, 6), (3, 2, 3, 3), padding=1),
    _conv("IC-11-p-pair-2x1", (1, 2, 5, 7), (2, 2, 3, 2), padding=(2, 1)),
    _conv("IC-11-pad-larger-than-kernel", (1, 1, 4, 4), (2, 1, 2, 2), padding=3),
    _conv("MB-4-s2", (2, 2, 8, 8), (3, 2, 3, 3), stride=2),
    _conv("IC-10-s3-not-dividing", (1, 2, 10, 9), (2, 2, 3, 2), stride=3),
    _conv("IC-10-s2x1-p1-k3x2", (2, 1, 7, 8), (2, 1, 3, 2), stride=(2, 1), padding=1),
    _conv("MB-7-same-odd", (1, 3, 6, 5), (2, 3, 3, 3), padding="same"),
    _conv("MB-7-same-even-kernel", (1, 2, 6, 7), (2, 2, 4, 2), padding="same"),
    _conv("MB-7-same-dilated", (1, 1, 9, 9), (2, 1, 3, 3), padding="same", dilation=2),
    _conv("MB-7-valid-string", (1, 2, 5, 5), (1, 2, 3, 3), padding="valid"),
    _conv("MB-7-1x1", (2, 4, 5, 5), (3, 4, 1, 1)),
    _conv("dilation-2", (1, 2, 9, 8), (2, 2, 3, 3), dilation=2),
    _conv("dilation-2x3-s2-p2", (2, 1, 11, 12), (2, 1, 2, 3), dilation=(2, 3), stride=2, padding=2),
    _conv("groups-2", (2, 4, 6, 6), (6, 2, 3, 3), groups=2),
    _conv("groups-depthwise", (2, 3, 6, 5), (3, 1, 3, 3), groups=3, padding=1),
    _conv("groups-depthwise-multiplier-2", (1, 2, 5, 5), (4, 1, 2, 2), groups=2, stride=2),
    _conv("kernel-as-large-as-input", (2, 2, 5, 4), (3, 2, 5, 4)),
    _conv("nonsquare-input-kernel", (1, 1, 3, 9), (1, 1, 2, 4)),
    _conv("batch-1-channel-1", (1, 1, 4, 4), (1, 1, 2, 2)),
]


def _pool(id_, shape, **kw):
    return {"id": id_, "x": shape, "kw": kw}


# windows both poolings must get right: strides, padding, ceil_mode, overlap
_SHARED_POOL_CASES = [
    _pool("IC-10-k3x2-s2x1", (1, 2, 7, 5), kernel_size=(3, 2), stride=(2, 1)),
    _pool("ceil-mode", (2, 1, 8, 9), kernel_size=3, stride=2, ceil_mode=True),
    _pool(
        "ceil-mode-window-would-start-in-padding",
        (1, 2, 6, 6),
        kernel_size=2,
        stride=2,
        padding=1,
        ceil_mode=True,
    ),
    _pool("overlap-s1", (1, 1, 9, 9), kernel_size=3, stride=1),
]

MAX_POOL_CASES = [
    _pool("IC-8-k2-default-stride", (2, 3, 6, 6), kernel_size=2),
    *_SHARED_POOL_CASES,
    _pool("pad1-minus-inf", (1, 2, 7, 7), kernel_size=3, stride=2, padding=1),
    _pool("dilation-2", (1, 2, 10, 9), kernel_size=2, dilation=2, stride=1),
    _pool(
        "dilation-2x1-p1-ceil",
        (2, 1, 11, 10),
        kernel_size=3,
        dilation=(2, 1),
        stride=2,
        padding=1,
        ceil_mode=True,
    ),
    _pool("kernel-as-large-as-input", (1, 1, 5, 4), kernel_size=(5, 4)),
    {**_pool("IC-8-ties-k2", (2, 2, 6, 6), kernel_size=2), "ties": True},
    {
        **_pool("IC-8-plateau-overlapping-p1", (1, 2, 6, 6), kernel_size=3, stride=1, padding=1),
        "ties": True,
    },
]

AVG_POOL_CASES = [
    _pool("IC-9-k2-default-stride", (2, 3, 6, 6), kernel_size=2),
    *_SHARED_POOL_CASES,
    _pool("pad1-count-pad", (1, 2, 7, 7), kernel_size=3, stride=2, padding=1),
    _pool(
        "pad1-no-count-pad",
        (1, 2, 7, 7),
        kernel_size=3,
        stride=2,
        padding=1,
        count_include_pad=False,
    ),
    _pool(
        "ceil-mode-no-count-pad",
        (1, 1, 8, 7),
        kernel_size=3,
        stride=2,
        padding=1,
        ceil_mode=True,
        count_include_pad=False,
    ),
]

LINEAR_CASES = [
    {"id": "AV-5-4inputs-2neurons", "shape": (4, 6, 2)},
    {"id": "AV-av-dense-1728-to-1", "shape": (200, 1728, 1)},
    {"id": "batch-1", "shape": (1, 5, 7)},
    {"id": "more-neurons-than-inputs", "shape": (9, 3, 4)},
]


# ---------------------------------------------------------------- per-op drivers
# Each driver: case → (inputs passed to the function, reference outputs from torch).


def _torch():
    return require("torch", "the conformance kit's torch reference")


def _quiet_conv(*args, **kw):
    """torch's conv2d without its note about even kernels with padding='same'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _torch().nn.functional.conv2d(*args, **kw)


def _conv_case(case, seed=0):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(case["x"]), rng.standard_normal(case["w"])
    b = rng.standard_normal(case["w"][0]) if case["bias"] else None
    return rng, x, w, b


def _drive_conv2d(case):
    torch = _torch()
    _, x, w, b = _conv_case(case)
    ref = _quiet_conv(
        torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), **case["kw"]
    )
    return (x, w, b), case["kw"], (ref.numpy(),), ("y",)


def _drive_conv2d_backward(case):
    torch = _torch()
    rng, x, w, _ = _conv_case(case)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    y = _quiet_conv(xt, wt, bt, **case["kw"])
    dy = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(dy))
    return (
        (dy, x, w),
        case["kw"],
        (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()),
        ("dx", "dw", "db"),
    )


def _pool_driver(torch_name: str, backward: bool):
    def drive(case):
        torch = _torch()
        rng = np.random.default_rng(1)
        # ties: small integers, so windows share their maximum (torch: the first one wins)
        x = (
            rng.integers(0, 3, case["x"]).astype(np.float64)
            if case.get("ties")
            else rng.standard_normal(case["x"])
        )
        xt = torch.tensor(x, requires_grad=True)
        y = getattr(torch.nn.functional, torch_name)(xt, **case["kw"])
        if not backward:
            return (x,), case["kw"], (y.detach().numpy(),), ("y",)
        dy = rng.standard_normal(tuple(y.shape))
        y.backward(torch.tensor(dy))
        return (dy, x), case["kw"], (xt.grad.numpy(),), ("dx",)

    return drive


def _linear_driver(backward: bool):
    def drive(case):
        torch = _torch()
        rng = np.random.default_rng(2)
        n, m, k = case["shape"]
        x, w, b = rng.standard_normal((n, m)), rng.standard_normal((m, k)), rng.standard_normal(k)
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        y = xt @ wt + bt
        if not backward:
            return (x, w, b), {}, (y.detach().numpy(),), ("y",)
        dy = rng.standard_normal((n, k))
        y.backward(torch.tensor(dy))
        return (
            (dy, x, w),
            {},
            (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()),
            ("dx", "dw", "db"),
        )

    return drive


OPS: dict[str, tuple[list[dict], Callable, Callable]] = {
    "conv2d": (CONV_CASES, _drive_conv2d, F.conv2d),
    "conv2d_backward": (CONV_CASES, _drive_conv2d_backward, F.conv2d_backward),
    "max_pool2d": (MAX_POOL_CASES, _pool_driver("max_pool2d", False), F.max_pool2d),
    "max_pool2d_backward": (
        MAX_POOL_CASES,
        _pool_driver("max_pool2d", True),
        F.max_pool2d_backward,
    ),
    "avg_pool2d": (AVG_POOL_CASES, _pool_driver("avg_pool2d", False), F.avg_pool2d),
    "avg_pool2d_backward": (
        AVG_POOL_CASES,
        _pool_driver("avg_pool2d", True),
        F.avg_pool2d_backward,
    ),
    "linear": (LINEAR_CASES, _linear_driver(False), F.linear),
    "linear_backward": (LINEAR_CASES, _linear_driver(True), F.linear_backward),
}


@dataclass
class CaseResult:
    id: str
    ok: bool
    worst_rel: float  # against torch, over every output
    worst_rel_ref_cnn: float
    detail: str = ""  # for a failure: the wrong output, shapes and where the error sits
    inputs: dict = field(default_factory=dict)


def _compare(names, got, expected) -> tuple[float, str]:
    """Worst norm-wise relative error, and a description of the first bad output."""
    if not isinstance(got, tuple):
        got = (got,)
    if len(got) != len(expected):
        return float(
            "inf"
        ), f"returned {len(got)} outputs, expected {len(expected)} ({', '.join(names)})"
    worst, detail = 0.0, ""
    for name, g, e in zip(names, got, expected, strict=True):
        g = np.asarray(g)
        if g.shape != e.shape:
            return float("inf"), f"{name}: shape {g.shape}, expected {e.shape}"
        diff = np.abs(g - e)
        rel = float(diff.max() / max(np.abs(e).max(), 1e-300)) if e.size else 0.0
        if rel > worst:
            worst = rel
            where = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
            detail = f"{name}: largest error {diff.max():.3e} at index {where} (got {g[where]:.6g}, torch {e[where]:.6g}), shape {e.shape}"
    return worst, detail


def check(fn: Callable, op: str, rtol: float = RTOL) -> list[CaseResult]:
    """Run every case of `op` against `fn`; compare with torch and with ref_cnn."""
    if op not in OPS:
        raise ValueError(f"op must be one of {sorted(OPS)}, got {op!r}")
    cases, drive, ours = OPS[op]
    results = []
    for case in cases:
        args, kw, expected, names = drive(case)
        inputs = {"shapes": [None if a is None else a.shape for a in args], "options": kw}
        try:
            got = fn(*[None if a is None else a.copy() for a in args], **kw)
        except Exception as exc:  # noqa: BLE001 - any failure of the checked code is a result
            results.append(
                CaseResult(
                    case["id"],
                    False,
                    float("inf"),
                    float("nan"),
                    f"raised {type(exc).__name__}: {exc}",
                    inputs,
                )
            )
            continue
        worst, detail = _compare(names, got, expected)
        mine, _ = _compare(names, ours(*args, **kw), expected)
        results.append(
            CaseResult(
                case["id"], worst <= rtol, worst, mine, "" if worst <= rtol else detail, inputs
            )
        )
    return results


def format_results(op: str, target: str, results: list[CaseResult]) -> str:
    width = max(len(r.id) for r in results)
    lines = [f"{op}: {target} against torch (float64, rtol {RTOL:.0e}) and ref_cnn", ""]
    lines.append(f"{'case':<{width}}  result  rel. error  (ref_cnn)")
    for r in results:
        lines.append(
            f"{r.id:<{width}}  {'ok' if r.ok else 'FAIL':<6}  {r.worst_rel:10.2e}  ({r.worst_rel_ref_cnn:.1e})"
        )
    failed = [r for r in results if not r.ok]
    lines += ["", f"{len(results) - len(failed)}/{len(results)} cases pass"]
    if failed:
        f = failed[0]
        lines += [
            "",
            f"first failing case: {f.id}",
            f"  inputs: shapes {f.inputs['shapes']}, options {f.inputs['options']}",
            f"  {f.detail}",
        ]
    return "\n".join(lines)


def load(target: str) -> Callable:
    """'package.module:function' → the function."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected PACKAGE.MODULE:FUNCTION, got {target!r}")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise ValueError(f"{target}: no function named {name!r} in {module}")
    return fn
