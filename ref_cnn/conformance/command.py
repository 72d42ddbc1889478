"""`python -m ref_cnn check`: the fixed cases, --list-cases, --fuzz, --save and --json."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ref_cnn.conformance import fuzz as fuzzer
from ref_cnn.conformance import kit
from ref_cnn.conformance.ops import resolve


def _error(exc) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def list_cases(op: str, pattern: str | None) -> str:
    """One line per case: its name, shapes and options."""
    spec, _ = resolve(op)
    cases = kit.select_cases(spec.cases, pattern)
    width = max(len(c["id"]) for c in cases)
    return "\n".join(f"{c['id']:<{width}}  {fuzzer.describe(c)}" for c in cases)


def results_json(results, target: str, seconds: float) -> dict:
    """What was run and each case's outcome, for machines (scripts/peers.py --gpu-results)."""
    from ref_cnn.conformance import summary

    def number(v):
        return None if v != v or v in (float("inf"), float("-inf")) else float(v)

    rows = [
        {
            "id": r.id,
            "status": r.status,
            "error": number(r.worst_rel),
            "bound": number(r.bound),
            "ref_cnn_error": number(r.worst_rel_ref_cnn),
            "detail": r.detail,
        }
        for r in results
    ]
    return {
        "target": target,
        **results.about,
        "summary": summary(results),
        "passed": sum(r.status == "ok" for r in results),
        "failed": len(results.failed),
        "skipped": sum(r.status == "skip" for r in results),
        "worst_passing": max((r.worst_rel for r in results if r.status == "ok"), default=None),
        "first_failure": results.failed[0].id if results.failed else "",
        "hints": results.hints,
        "seconds": seconds,
        "cases": rows,
    }


def _environment(device: str) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    about = {"torch": torch.__version__}
    if device.startswith("cuda") and torch.cuda.is_available():
        about["gpu"] = torch.cuda.get_device_name(torch.device(device))
        about["cudnn"] = torch.backends.cudnn.version()
    return about


def run_check(args, parser) -> int:
    """The check command; returns the exit status (0 pass, 1 a case fails, 2 bad usage)."""
    if args.list_cases:
        try:
            print(list_cases(args.op, args.case))
        except ValueError as exc:
            return _error(exc)
        return 0
    if not args.target:
        parser.error("the following arguments are required: target")
    sys.path.insert(0, str(Path.cwd()))
    from ref_cnn.conformance import check, format_results, load, passed

    try:
        fn = load(args.target)
    except (ValueError, ImportError) as exc:
        return _error(exc)
    options = {
        "dtype": args.dtype,
        "layout": args.layout,
        "framework": args.framework,
        "device": args.device,
        "tf32": args.tf32,
    }
    start = time.perf_counter()
    try:
        if args.fuzz:
            return _fuzz(fn, args, options)
        results = check(fn, args.op, cases=args.case, save=args.save, target=args.target, **options)
    except ValueError as exc:
        return _error(exc)
    seconds = time.perf_counter() - start
    print(format_results(args.op, args.target, results))
    if args.save and results.failed:
        print(f"\nreproducers for the failing cases: {args.save}/ (python {args.save}/<case>.py)")
    if args.json:
        row = {**results_json(results, args.target, seconds), **_environment(args.device)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(row, indent=1), encoding="utf-8")
    return 0 if passed(results) else 1


def _fuzz(fn, args, options) -> int:
    run = kit.prepare(fn, args.op, **options)
    report = fuzzer.fuzz(run, args.op, args.fuzz, args.seed)
    print(fuzzer.format_report(report, args.target, run))
    if report.shrunk is None:
        return 0
    if args.save:
        from ref_cnn.conformance.reproduce import write_reproducers

        cases = [case for case, _ in report.outcomes]
        outcomes = [outcome for _, outcome in report.outcomes]
        for script in write_reproducers(args.save, run, args.op, cases, outcomes, args.target):
            print(f"reproducer: python {script}")
    return 1
