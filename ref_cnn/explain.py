"""`python -m ref_cnn explain ID`: one equation at the prompt.

For an equation ID of the catalogue (`AV-14`, `IC-7`, …) it prints the statement, the
article, the functions that implement it with the source lines that cite the ID (the lines
that compute it), the witnesses it is checked against, and the errors last measured by the
parity report (`reports/parity.json`), or where it looked for them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import io
import json
import re
import textwrap
import tokenize
from pathlib import Path

from ref_cnn.catalogue import ARTICLES, BY_ID, EQUATIONS, Equation

ROOT = Path(__file__).resolve().parents[1]


def report_paths() -> list[Path]:
    """Where `explain` looks for the report's JSON: ./reports, then the repository's."""
    paths = [Path.cwd() / "reports" / "parity.json", ROOT / "reports" / "parity.json"]
    return list(dict.fromkeys(p.resolve() for p in paths))


def resolve_id(text: str) -> str:
    """`av14`, `av-14`, `AV 14` → `AV-14`; ValueError listing close matches if unknown."""
    m = re.fullmatch(r"\s*([A-Za-z]{2})[\s_-]*(\d+)\s*", text)
    eid = f"{m.group(1).upper()}-{int(m.group(2))}" if m else text.strip()
    if eid in BY_ID:
        return eid
    close = difflib.get_close_matches(eid.upper(), list(BY_ID), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown equation ID {text!r}{hint} (IDs: AV-1 … AV-15, MB-1 … MB-18, IC-1 … IC-13; "
        "`python -m ref_cnn explain` lists them all)"
    )


def _cites(line: str, eid: str) -> bool:
    """Whether a source line names `eid` (IC-1 is not IC-11)."""
    return re.search(rf"(?<![\w-]){re.escape(eid)}(?!\d)", line) is not None


def _object(dotted: str):
    """The object a dotted name refers to, and the module it lives in."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        obj = module
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj, module
    raise ImportError(dotted)


def _comments(lines: list[str]) -> dict[int, str]:
    """{line index: its comment} of a block of source (strings and docstrings excluded)."""
    out = {}
    source = textwrap.dedent("".join(lines))
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0] - 1] = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def source_lines(dotted: str, eid: str) -> tuple[str, list[tuple[int, str]]]:
    """(where, [(line number, line)]) for one implementing function: the lines whose comment
    cites `eid` (the project's convention: `y = … # IC-4: Y_i = B_i + Σ_j X_j ⋆ K_ij`), a
    comment on its own line with the line it annotates. For a constant or an object without
    source, its module's lines citing the ID."""
    try:
        obj, module = _object(dotted)
    except (ImportError, AttributeError) as exc:
        return f"(cannot import: {exc})", []
    target = obj if inspect.isfunction(obj) or inspect.isclass(obj) else module
    target = inspect.unwrap(target) if callable(target) else target
    try:
        lines, first = inspect.getsourcelines(target)
        path = Path(inspect.getsourcefile(target))
    except (OSError, TypeError):
        return "(no Python source)", []
    first = max(first, 1)
    picked: list[int] = []
    for i, comment in sorted(_comments(lines).items()):
        if not _cites(comment, eid):
            continue
        picked.append(i)
        if lines[i].lstrip().startswith("#"):  # a comment above the line it annotates
            nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
            if nxt is not None and not lines[nxt].lstrip().startswith("#"):
                picked.append(nxt)
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    where = f"{shown}:{first}" + ("" if target is obj else f" (module of {dotted.split('.')[-1]})")
    return where, [(first + i, lines[i].rstrip()) for i in sorted(set(picked))]


def _summary(dotted: str) -> str | None:
    """The first line of an object's docstring (None for constants and the undocumented)."""
    try:
        obj, _ = _object(dotted)
    except (ImportError, AttributeError):
        return None
    doc = inspect.getdoc(obj) if callable(obj) else None
    return doc.splitlines()[0] if doc else None


def load_report(paths: list[Path] | None = None) -> tuple[Path | None, dict | None]:
    """The first readable report JSON among `paths` (default `report_paths()`)."""
    for path in paths or report_paths():
        try:
            return path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None, None


def explain(eid: str, report: Path | None = None) -> str:
    """The text `python -m ref_cnn explain ID` prints (raises ValueError for an unknown ID)."""
    e: Equation = BY_ID[resolve_id(eid)]
    out = [
        f"{e.id}: {e.what}",
        "",
        f"  {e.statement}",
        "",
        f"Article ({e.article}): {ARTICLES[e.article]}",
    ]
    if e.pending:
        out.append(f"Not yet verified: {e.pending}")
    out += ["", "Implemented by:"]
    for dotted in e.functions:
        where, lines = source_lines(dotted, e.id)
        out.append(f"  {dotted}  [{where}]")
        for number, text in lines:
            out.append(f"    {number:5d} | {text.strip()}")
        summary = None if lines else _summary(dotted)
        if summary:  # no line of its own cites the ID: what it is, from its docstring
            out.append(f"          {summary}")
    out += ["", f"Witnesses (what the tests compare it with): {e.reference}"]
    paths = [report] if report else report_paths()
    path, data = load_report(paths)
    q = next((q for q in data.get("equations", []) if q.get("id") == e.id), None) if data else None
    if q is None:
        looked = ", ".join(str(p) for p in paths)
        out += [
            "",
            f"Last measured errors: none found (looked for {looked}; "
            "`bash scripts/dev.sh report` or `python scripts/parity_report.py` writes it).",
        ]
        return "\n".join(out) + "\n"
    out += [
        f"  measured against: {', '.join(q.get('witnesses', [])) or '–'}",
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
    """Every ID with what it is, for `python -m ref_cnn explain` without an ID."""
    return "\n".join(f"{e.id:<6} {e.what}" for e in EQUATIONS) + "\n"
