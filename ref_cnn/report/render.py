"""parity.md and parity.html from the report's JSON."""

from __future__ import annotations

import base64
import html
import json

from ref_cnn.catalogue import ARTICLES
from ref_cnn.report.collect import worst

READING = (
    "Errors are max |ours − witness| / max |witness| over every case and every forward output "
    "and gradient of the equation. Against torch the tests require ≤ 1e-10 in float64 and "
    "≤ 2e-5 in float32 (float32 deep networks: against torch in float64, see test_architectures); the other witnesses are scipy.signal, torch.nn.grad, the literal loop "
    "versions (≤ 1e-10) and central finite differences (≤ 1e-6, limited by their own "
    "truncation error). 0.0e+00 means bit-for-bit equal; – means the tests compare exactly "
    "(shapes, counts) or record no error."
)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.1e}"


def _status(q: dict) -> str:
    return (
        q["status"]
        if not (q["pending"] and q["status"] == "not verified")
        else f"not verified ({q['pending']})"
    )


def _row_cells(q: dict) -> list[str]:
    rel = q["max_rel_error"]
    return [
        q["id"],
        q["what"],
        q["statement"],
        _status(q),
        str(q["cases"]),
        _fmt(worst(rel, "float64", True)),
        _fmt(worst(rel, "float32", True)),
        _fmt(worst(rel, "float64", False)),
        ", ".join(q["witnesses"]) or "–",
    ]


HEADER = [
    "ID",
    "what",
    "statement",
    "status",
    "cases",
    "vs torch f64",
    "vs torch f32",
    "other witnesses f64",
    "witnesses",
]


def summary_line(report: dict) -> str:
    """ "N/46 equations verified, M errata demonstrated", the report's headline."""
    s = report["summary"]
    return f"{s['verified']}/{s['equations']} equations verified, {len(report['errata'])} errata demonstrated"


def _measured(m: dict) -> str:
    return "; ".join(
        f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {json.dumps(v, ensure_ascii=False)}"
        for k, v in m.items()
    )


def to_markdown(report: dict) -> str:
    """parity.md from the report's JSON: a table per article, then the errata."""
    s = report["summary"]
    lines = [
        "# ref_cnn parity report",
        "",
        f"**{summary_line(report)}**; {s['failed']} failing, {s['not_verified']} not yet verified; "
        f"{s['tests_run']} tests run.",
        "",
        READING,
    ]
    for article, title in ARTICLES.items():
        lines += [
            "",
            f"## {article}: {title}",
            "",
            "| " + " | ".join(HEADER) + " |",
            "|" + "---|" * len(HEADER),
        ]
        lines += [
            "| " + " | ".join(c.replace("|", "\\|") for c in _row_cells(q)) + " |"
            for q in report["equations"]
            if q["article"] == article
        ]
    lines += ["", "## Errata", ""]
    for e in report["errata"]:
        lines += [
            f"### {e['id']} ({e['article']}): {e['where']}",
            "",
            f"- **What the article does:** {e['wrong']}",
            f"- **Correct:** {e['correct']}",
            f"- **Effect:** {e['effect']}",
            f"- **Measured** (`{e['demo']}`): {_measured(e['measured'])}",
            "",
        ]
    lines += ["## Checked and found correct", ""] + [f"- {c}" for c in report["checked_correct"]]
    return "\n".join(lines) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.pass{background:#e6f4e6} td.fail{background:#f8d7d7} td.pending{background:#f5f5f5;color:#777}
.summary{font-size:20px;font-weight:600;padding:.6em 1em;background:#eef5ff;border-left:4px solid #3366cc}
.erratum{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:1em 0}
figure{margin:1.5em 0} figcaption{font-size:13px;color:#555} img{max-width:100%}
code{background:#f4f4f4;padding:1px 3px}
td.statement{font-family:"DejaVu Serif",Georgia,serif;min-width:16em}
"""


def to_html(report: dict, figures: dict[str, tuple[str, bytes]]) -> str:
    """One self-contained page: tables, errata, and the figures embedded as PNG data URLs."""
    e = html.escape
    s = report["summary"]
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>ref_cnn parity report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>ref_cnn parity report</h1>",
        f"<p class='summary' id='summary'>{e(summary_line(report))}</p>",
        f"<p>{s['failed']} failing, {s['not_verified']} not yet verified; {s['tests_run']} tests run.</p>",
        f"<p>{e(READING)}</p>",
    ]
    for key, (caption, png) in figures.items():
        data = base64.b64encode(png).decode("ascii")
        out.append(
            f"<figure id='fig-{e(key)}'><img alt='{e(caption)}' src='data:image/png;base64,{data}'><figcaption>{e(caption)}</figcaption></figure>"
        )
    for article, title in ARTICLES.items():
        out.append(
            f"<h2>{e(article)}: {e(title)}</h2><table class='equations'><tr>"
            + "".join(f"<th>{e(h)}</th>" for h in HEADER)
            + "</tr>"
        )
        for q in report["equations"]:
            if q["article"] != article:
                continue
            cells = _row_cells(q)
            cls = {"pass": "pass", "fail": "fail"}.get(q["status"], "pending")
            out.append(
                "<tr>"
                + "".join(f"<td>{e(c)}</td>" for c in cells[:2])
                + f"<td class='statement'>{e(cells[2])}</td>"
                + f"<td class='{cls}'>{e(cells[3])}</td>"
                + "".join(f"<td>{e(c)}</td>" for c in cells[4:])
                + "</tr>"
            )
        out.append("</table>")
    out.append("<h2 id='errata'>Errata</h2>")
    for er in report["errata"]:
        out.append(
            f"<div class='erratum'><h3>{e(er['id'])} ({e(er['article'])}): {e(er['where'])}</h3><ul>"
            f"<li><b>What the article does:</b> {e(er['wrong'])}</li>"
            f"<li><b>Correct:</b> {e(er['correct'])}</li>"
            f"<li><b>Effect:</b> {e(er['effect'])}</li>"
            f"<li><b>Measured</b> (<code>{e(er['demo'])}</code>): {e(_measured(er['measured']))}</li></ul></div>"
        )
    out.append(
        "<h2>Checked and found correct</h2><ul>"
        + "".join(f"<li>{e(c)}</li>" for c in report["checked_correct"])
        + "</ul>"
    )
    # lets a headless browser report how many figures decoded (see the HTML test)
    out.append(
        "<script>window.addEventListener('load',()=>{document.body.dataset.imagesLoaded="
        "[...document.images].filter(i=>i.complete&&i.naturalWidth>0).length;});</script>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"
