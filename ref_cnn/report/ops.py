"""The second catalogue in the parity report: the ops beyond the articles (ACT-n, NRM-n,
SPA-n), counted apart from the articles' 46 equations.

parity.json gains `ops` = {summary {equations, verified, failed, not_verified, families
{family: [verified, total]}}, equations [the articles' per-equation schema, `article`
holding the family]}; parity.md and parity.html gain one table per family after the
articles' tables.
"""

from __future__ import annotations

import html

from ref_cnn.equations.ops import EQUATIONS, FAMILIES
from ref_cnn.report.collect import summarise
from ref_cnn.report.render import HEADER, _row_cells


def summarise_ops(results: list[dict]) -> dict:
    """{"summary", "equations"} for the ops' catalogue, from the same test results: the
    articles' counts (`summarise`) and [verified, total] per family."""
    summed = summarise(results, EQUATIONS)
    equations = summed["equations"]
    families = {
        f: [sum(q["status"] == "pass" for q in equations if q["article"] == f)]
        + [sum(q["article"] == f for q in equations)]
        for f in FAMILIES
    }
    counts = ("equations", "verified", "failed", "not_verified")
    summary = {k: summed["summary"][k] for k in counts} | {"families": families}
    return {"summary": summary, "equations": equations}


def ops_summary_line(ops: dict) -> str:
    """ "N/M op equations verified (ACT 16/16, NRM 6/6, SPA 9/9)", the second headline."""
    s = ops["summary"]
    per = ", ".join(f"{f} {v}/{n}" for f, (v, n) in s["families"].items())
    return f"{s['verified']}/{s['equations']} op equations verified ({per})"


def _tables(ops: dict):
    for family, title in FAMILIES.items():
        rows = [q for q in ops["equations"] if q["article"] == family]
        if rows:
            yield family, title, rows


def ops_markdown(ops: dict) -> str:
    """The ops' section of parity.md: the headline, then a table per family."""
    lines = ["", "## The ops beyond the articles", "", f"**{ops_summary_line(ops)}**"]
    for family, title, rows in _tables(ops):
        lines += ["", f"### {family}: {title}", "", "| " + " | ".join(HEADER) + " |"]
        lines += ["|" + "---|" * len(HEADER)]
        lines += [
            "| " + " | ".join(c.replace("|", "\\|") for c in _row_cells(q)) + " |" for q in rows
        ]
    return "\n".join(lines) + "\n"


def ops_html(ops: dict) -> str:
    """The ops' section of parity.html."""
    e = html.escape
    out = [
        "<h2 id='ops'>The ops beyond the articles</h2>",
        f"<p class='summary' id='ops-summary'>{e(ops_summary_line(ops))}</p>",
    ]
    for family, title, rows in _tables(ops):
        out.append(f"<h3>{e(family)}: {e(title)}</h3><table class='equations'><tr>")
        out.append("".join(f"<th>{e(h)}</th>" for h in HEADER) + "</tr>")
        for q in rows:
            cls = {"pass": "pass", "fail": "fail"}.get(q["status"], "pending")
            cells = _row_cells(q)
            out.append(
                "<tr>"
                + "".join(f"<td>{e(c)}</td>" for c in cells[:2])
                + f"<td class='statement'>{e(cells[2])}</td><td class='{cls}'>{e(cells[3])}</td>"
                + "".join(f"<td>{e(c)}</td>" for c in cells[4:])
                + "</tr>"
            )
        out.append("</table>")
    return "\n".join(out) + "\n"


def insert_before(text: str, marker: str, section: str) -> str:
    """`section` placed before the first `marker` of `text` (at the end if it has none)."""
    head, found, tail = text.partition(marker)
    return head + section + found + tail if found else text + section
