"""`python -m ref_cnn explain ID`: one equation, or one erratum, on one screen.

For an equation ID of the catalogue (`AV-14`, `IC-7`, …) it prints the statement, the
article, the functions that implement it with the readable source lines that cite the ID,
the witnesses it is checked against, the articles' errata about it (`ref_cnn.articles.errata`), and
the errors the parity report (`reports/parity.json`) last measured for its own quantities.
For an erratum ID (`AV-code-1`) it prints the erratum and the equations it concerns; for
an op of the second catalogue (`ACT-4`, `NRM-2`, `SPA-1`: `ref_cnn.equations.ops`) the
same screen with the op's family and source, and the errors of the report's `ops` section.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import io
import json
import re
import textwrap
import tokenize
from pathlib import Path

from ref_cnn import _io
from ref_cnn.equations import ops
from ref_cnn.equations.articles import ARTICLES, BY_ID, EQUATIONS, Equation

ROOT = Path(__file__).resolve().parents[2]
MAX_ERROR_ROWS = 8  # the measured-error table stays on one screen


def report_paths() -> list[Path]:
    """Where `explain` looks for the report's JSON: ./reports, then the clone's (if any)."""
    paths = [Path.cwd() / "reports" / "parity.json"]
    if _io.in_clone():
        paths.append(ROOT / "reports" / "parity.json")
    return list(dict.fromkeys(p.resolve() for p in paths))


def how_to_get_the_report() -> str:
    """The command that writes reports/parity.json here, or what is missing for it."""
    if _io.in_clone():
        return "`bash scripts/dev.sh report --quick` writes it"
    return (
        "the report runs the parity suite, which lives in ref_cnn's repository, not in the "
        "installed package: in a clone, `bash scripts/dev.sh report --quick` writes it; pass "
        "one with --report PATH"
    )


def resolve_id(text: str) -> str:
    """`av14`, `av-14`, `AV 14` → `AV-14`; `av-code-1` → `AV-code-1` (an erratum); ValueError
    listing close matches if unknown."""
    m = re.fullmatch(r"\s*([A-Za-z]{2})[\s_-]*(\d+)\s*", text)
    eid = f"{m.group(1).upper()}-{int(m.group(2))}" if m else text.strip()
    if eid in BY_ID:
        return eid
    m = re.fullmatch(r"\s*([A-Za-z]{2})[\s_-]*([A-Za-z]+)[\s_-]*(\d+)\s*", text)
    if m:
        erratum = f"{m.group(1).upper()}-{m.group(2).lower()}-{int(m.group(3))}"
        if erratum in errata_texts():
            return erratum
    known = [*BY_ID, *errata_texts()]
    close = difflib.get_close_matches(text.strip(), known, n=5, cutoff=0.6) or [
        k
        for k in difflib.get_close_matches(eid.upper(), [k.upper() for k in known], n=5, cutoff=0.5)
    ]
    close = [next(k for k in known if k.upper() == c.upper()) for c in close]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown equation ID {text!r}{hint} (IDs: AV-1 … AV-15, MB-1 … MB-18, IC-1 … IC-13, "
        "errata such as AV-code-1; `python -m ref_cnn explain` lists them all)"
    )


_OP_ID = re.compile(r"\s*([A-Za-z]{3})[\s_-]*(\d+)\s*")


def is_op_id(text: str) -> bool:
    """Whether `text` names an op family's ID (ACT-4, act4, NRM 2), known or not."""
    m = _OP_ID.fullmatch(text)
    return bool(m) and m.group(1).upper() in ops.FAMILIES


def resolve_op_id(text: str) -> str:
    """`act4`, `ACT 4`, `act-4` → `ACT-4`; ValueError listing close matches if unknown."""
    m = _OP_ID.fullmatch(text)
    eid = f"{m.group(1).upper()}-{int(m.group(2))}" if m else text.strip()
    if eid in ops.BY_ID:
        return eid
    close = difflib.get_close_matches(eid.upper(), list(ops.BY_ID), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    families = ", ".join(f"{k}-n ({v})" for k, v in ops.FAMILIES.items())
    raise ValueError(f"unknown op ID {text!r}{hint} (families: {families})")


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


# ------------------------------------------------------------------ errata


ERRATUM_FIELDS = ("id", "article", "where", "wrong", "correct", "effect")
# errata whose text names no equation ID, and the equations they are about
ERRATUM_EQUATIONS = {
    "AV-code-4": ("AV-14",),
    "AV-code-5": ("AV-7", "AV-15"),
    "AV-code-7": ("AV-6",),
    "MB-formula-2": ("MB-6",),
    "MB-formula-3": ("MB-16",),
    "MB-text-2": ("MB-7",),
}


@functools.cache
def errata_texts() -> dict[str, dict[str, str]]:
    """{erratum ID: its text fields and `demo`}, read from ref_cnn/articles/errata's source without
    running the demonstrations (some take seconds)."""
    from ref_cnn.articles.errata import registry

    out = {}
    for demo in registry.DEMOS:
        tree = ast.parse(textwrap.dedent(inspect.getsource(demo)))
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Erratum":
                args = [a.value if isinstance(a, ast.Constant) else "" for a in call.args]
                record = dict(zip(ERRATUM_FIELDS, args, strict=False))
                record["demo"] = f"{demo.__module__}.{demo.__name__}"
                out[record["id"]] = record
    return out


def erratum_equations(erratum: dict[str, str]) -> list[str]:
    """The equation IDs an erratum is about: those its text names, and ERRATUM_EQUATIONS."""
    text = " ".join(erratum.get(k, "") for k in ERRATUM_FIELDS[2:])
    named = [e.id for e in EQUATIONS if _cites(text, e.id)]
    return sorted(set(named) | set(ERRATUM_EQUATIONS.get(erratum["id"], ())), key=_order)


def _order(eid: str) -> int:
    return next(i for i, e in enumerate(EQUATIONS) if e.id == eid)


def related_errata(eid: str) -> list[dict[str, str]]:
    """The errata about equation `eid`."""
    return [r for r in errata_texts().values() if eid in erratum_equations(r)]


# ------------------------------------------------------------------ measured errors

# Tests of a whole network record every quantity of the chain under each equation they
# verify; these are each equation's own (the others are shown under their own IDs).
OWN_QUANTITIES = {
    "AV-3": ("cols", "y"),
    "AV-5": ("Z2", "y"),
    "AV-6": ("A1", "O", "dx", "dinput"),
    "AV-7": ("Z1", "A1", "Z2", "O", "y"),
    "AV-8": ("E", "dE/dO"),
    "AV-9": ("dE/dZ2",),
    "AV-10": ("dE/dW", "dw", "dweight"),
    "AV-11": ("dE/db", "db", "dbias"),
    "AV-13": ("dE/dA1", "dx", "dinput"),
    "AV-14": ("dE/df", "df", "dw"),
    "IC-5": ("dw", "df", "dweight"),
    "IC-6": ("db", "dbias"),
    "IC-7": ("dx", "dinput", "adjoint", "conv_transpose2d = dx of conv2d", "dx = conv2d(dy, w)"),
    "IC-8": ("y", "dx", "dinput", "dx = dy[indices]", "x[indices]", "y at the maxima"),
    "MB-13": ("J", "dJ/do", "dJ/dp", "dJ/dz", "dinput", "dtarget"),
}


def _split_key(key: str) -> tuple[str, str]:
    """ "dw float64 vs torch" → ("dw", "float64 vs torch")."""
    m = re.match(r"(.*) (float\d+ vs .*)$", key)
    return (m.group(1), m.group(2)) if m else (key, "")


def error_rows(eid: str, rel: dict, ab: dict) -> list[tuple[str, float, float]]:
    """(label, rel, abs) rows for the equation's own quantities, the worst first per quantity;
    a network's parameters and buffers (dotted names such as layer1.0.conv1.weight) are one
    row per dtype and witness."""
    own = OWN_QUANTITIES.get(eid)
    rows: dict[str, tuple[float, float]] = {}
    for key, r in rel.items():
        quantity, against = _split_key(key)
        if own and quantity not in own:
            continue
        label = key
        if "." in quantity.lstrip("d"):  # one parameter or buffer of a whole network
            label = f"every network parameter and buffer {against}"
        r0, a0 = rows.get(label, (0.0, 0.0))
        rows[label] = (max(r0, r), max(a0, ab.get(key, float("nan"))))
    return [(k, *v) for k, v in sorted(rows.items())]


# ------------------------------------------------------------------ the two screens


def _readable_twin(dotted: str) -> str | None:
    """`module.f_readable` for a tuned `module.f`, if it exists."""
    if dotted.endswith("_readable"):
        return None
    try:
        _object(dotted + "_readable")
    except (ImportError, AttributeError):
        return None
    return dotted + "_readable"


def _implementations(e: Equation) -> list[str]:
    """The functions' lines; a tuned function is followed by its readable twin's lines."""
    out = []
    shown = set()
    for dotted in e.functions:
        if dotted in shown:
            continue
        twin = _readable_twin(dotted)
        where, lines = source_lines(dotted, e.id)
        if twin:
            twin_where, twin_lines = source_lines(twin, e.id)
            if twin_lines:  # show the equation as the readable version writes it
                out.append(f"  {dotted}  [{where}]")
                out.append(
                    f"          computes, with tuned kernels, what {twin.split('.')[-1]} writes as:"
                )
                dotted, where, lines = twin, twin_where, twin_lines
                shown.add(twin)
        shown.add(dotted)
        out.append(f"  {dotted}  [{where}]")
        for number, text in lines:
            out.append(f"    {number:5d} | {text.strip()}")
        summary = None if lines else _summary(dotted)
        if summary:  # no line of its own cites the ID: what it is, from its docstring
            out.append(f"          {summary}")
    return out


def _short(text: str, width: int = 92) -> str:
    return textwrap.shorten(text, width, placeholder=" …")


def _measured(out: list[str], eid: str, section: dict | None, path, paths) -> list[str]:
    """`out` + the report's errors for `eid` from `section` (its "equations" list)."""
    q = next((q for q in (section or {}).get("equations", []) if q.get("id") == eid), None)
    if q is None:
        looked = ", ".join(str(p) for p in paths)
        return [
            *out,
            "",
            f"Last measured errors: none found (looked for {looked}; {how_to_get_the_report()}).",
        ]
    out += [
        "",
        f"Last measured errors ({path}): status {q.get('status')}, {q.get('cases')} cases, "
        f"against {', '.join(q.get('witnesses', [])) or '–'}",
    ]
    rows = error_rows(eid, q.get("max_rel_error", {}), q.get("max_abs_error", {}))
    if not rows:
        out.append("  (the tests compare exactly or record no error)")
    for label, rel, ab in rows[:MAX_ERROR_ROWS]:
        out.append(f"  {label:<52} rel {rel:.1e}   abs {ab:.1e}")
    if len(rows) > MAX_ERROR_ROWS:
        out.append(f"  … {len(rows) - MAX_ERROR_ROWS} more rows in {path}")
    return out


def explain(eid: str, report: Path | None = None) -> str:
    """The text `python -m ref_cnn explain ID` prints (raises ValueError for an unknown ID)."""
    if is_op_id(eid):
        return explain_op(eid, report)
    key = resolve_id(eid)
    if key not in BY_ID:
        return explain_erratum(key, report)
    e: Equation = BY_ID[key]
    out = [
        f"{e.id}: {e.what}",
        "",
        f"  {e.statement}",
        "",
        f"Article ({e.article}): {ARTICLES[e.article]}",
    ]
    if e.pending:
        out.append(f"Not yet verified: {e.pending}")
    out += ["", "Implemented by:", *_implementations(e)]
    out += ["", f"Witnesses (what the tests compare it with): {e.reference}"]
    errata = related_errata(e.id)
    if errata:
        out += ["", "Errata (where an article departs from it; `explain ERRATUM-ID` for one):"]
        out += ["  " + _short(f"{r['id']}: {r['where']}") for r in errata]
    paths = [report] if report else report_paths()
    path, data = load_report(paths)
    return "\n".join(_measured(out, e.id, data, path, paths)) + "\n"


def explain_op(eid: str, report: Path | None = None) -> str:
    """`explain` for an op of the second catalogue (ValueError for an unknown ID)."""
    e = ops.BY_ID[resolve_op_id(eid)]
    family = e.id.split("-")[0]
    out = [
        f"{e.id}: {e.what}",
        "",
        f"  {e.statement}",
        "",
        f"Family ({family}): {ops.FAMILIES[family]}",
        f"Source: {e.reference}",
        "",
        "Implemented by:",
        *_implementations(e),
    ]
    paths = [report] if report else report_paths()
    path, data = load_report(paths)
    return "\n".join(_measured(out, e.id, (data or {}).get("ops"), path, paths)) + "\n"


def explain_erratum(key: str, report: Path | None = None) -> str:
    """One erratum: where, what the article does, the correct form, its effect, the equations
    it concerns, and what the report's run of its demonstration measured."""
    r = errata_texts()[key]
    eqs = erratum_equations(r)
    out = [
        f"{r['id']} ({r['article']}): {r['where']}",
        "",
        *textwrap.wrap(f"What the article does: {r['wrong']}", 92, subsequent_indent="  "),
        *textwrap.wrap(f"Correct: {r['correct']}", 92, subsequent_indent="  "),
        *textwrap.wrap(f"Effect: {r['effect']}", 92, subsequent_indent="  "),
        "",
        "Equations: " + (", ".join(f"{i} ({BY_ID[i].what})" for i in eqs) or "–"),
        f"Demonstration: {r['demo']}()",
    ]
    path, data = load_report([report] if report else report_paths())
    measured = next((x for x in (data or {}).get("errata", []) if x.get("id") == key), None)
    if measured:
        out += ["", f"Measured ({path}):"]
        out += [
            f"  {k} = {v:.3g}" if isinstance(v, float) else f"  {k} = {v}"
            for k, v in measured["measured"].items()
        ]
    else:
        out += ["", f"Measured: run {r['demo']}() (the parity report runs it too)."]
    return "\n".join(out) + "\n"


def listing() -> str:
    """Every ID with what it is, then the errata, for `python -m ref_cnn explain` without an ID."""
    lines = [f"{e.id:<6} {e.what}" for e in EQUATIONS]
    lines += ["", "Errata (python -m ref_cnn explain AV-code-1):"]
    # the ID padded outside _short, whose textwrap.shorten would collapse the padding
    lines += [f"{r['id']:<13} {_short(r['where'], 84)}" for r in errata_texts().values()]
    return "\n".join(lines) + "\n"
