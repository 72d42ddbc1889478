"""`python -m ref_cnn explain ACT-4`: one op of the second catalogue at the prompt.

Shown as an article's equation is (`ref_cnn.equations.explain`): the statement, its family and
source, the functions that implement it with the source lines that cite the ID, and the
errors the last parity report measured (its `ops` section), or where it looked for them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from pathlib import Path

from ref_cnn.equations.explain import load_report, report_paths, source_lines
from ref_cnn.equations.ops import BY_ID, EQUATIONS, FAMILIES

_ID = re.compile(r"\s*([A-Za-z]{3})[\s_-]*(\d+)\s*")


def is_op_id(text: str) -> bool:
    """Whether `text` names an op family's ID (ACT-4, act4, NRM 2), known or not."""
    m = _ID.fullmatch(text)
    return bool(m) and m.group(1).upper() in FAMILIES


def resolve_op_id(text: str) -> str:
    """`act4`, `ACT 4`, `act-4` → `ACT-4`; ValueError listing close matches if unknown."""
    m = _ID.fullmatch(text)
    eid = f"{m.group(1).upper()}-{int(m.group(2))}" if m else text.strip()
    if eid in BY_ID:
        return eid
    close = difflib.get_close_matches(eid.upper(), list(BY_ID), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    families = ", ".join(f"{k}-n ({v})" for k, v in FAMILIES.items())
    raise ValueError(f"unknown op ID {text!r}{hint} (families: {families})")


def _summary(dotted: str) -> str | None:
    """The first line of a function's docstring (None if it does not import)."""
    module, _, name = dotted.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    doc = inspect.getdoc(obj) if callable(obj) else None
    return doc.splitlines()[0] if doc else None


def explain_op(eid: str, report: Path | None = None) -> str:
    """The text `python -m ref_cnn explain ACT-n` prints (ValueError for an unknown ID)."""
    e = BY_ID[resolve_op_id(eid)]
    family = e.id.split("-")[0]
    out = [
        f"{e.id}: {e.what}",
        "",
        f"  {e.statement}",
        "",
        f"Family ({family}): {FAMILIES[family]}",
        f"Source: {e.reference}",
        "",
        "Implemented by:",
    ]
    for dotted in e.functions:
        where, lines = source_lines(dotted, e.id)
        out.append(f"  {dotted}  [{where}]")
        for number, text in lines:
            out.append(f"    {number:5d} | {text.strip()}")
        summary = None if lines else _summary(dotted)
        if summary:
            out.append(f"          {summary}")
    paths = [report] if report else report_paths()
    path, data = load_report(paths)
    ops = (data or {}).get("ops", {}).get("equations", [])
    q = next((q for q in ops if q.get("id") == e.id), None)
    if q is None:
        looked = ", ".join(str(p) for p in paths)
        out += [
            "",
            f"Last measured errors: none found (looked for {looked}; "
            "`python scripts/parity_report.py` writes it).",
        ]
        return "\n".join(out) + "\n"
    out += [
        "",
        f"Witnesses (what the tests compare it with): {', '.join(q.get('witnesses', [])) or '–'}",
        "",
        f"Last measured errors ({path}): status {q.get('status')}, {q.get('cases')} cases",
    ]
    rel, ab = q.get("max_rel_error", {}), q.get("max_abs_error", {})
    if not rel:
        out.append("  (the tests compare exactly or record no error)")
    for key in sorted(rel):
        out.append(f"  {key:<52} rel {rel[key]:.1e}   abs {ab.get(key, float('nan')):.1e}")
    return "\n".join(out) + "\n"


def listing() -> str:
    """Every op ID with what it is."""
    return "\n".join(f"{e.id:<7} {e.what}" for e in EQUATIONS) + "\n"
