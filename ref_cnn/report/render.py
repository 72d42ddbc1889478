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
    shown = sum("not measured" not in e["measured"] for e in report["errata"])
    return f"{s['verified']}/{s['equations']} equations verified, {shown} errata demonstrated"


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
td.num{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums} th.num{text-align:right}
tr:target{outline:2px solid #3366cc}
.summary{font-size:20px;font-weight:600;padding:.6em 1em;background:#eef5ff;border-left:4px solid #3366cc}
nav.toc{font-size:14px;columns:2;background:#fafafa;border:1px solid #e4e4e4;padding:.4em 1.2em;margin:1em 0}
nav.toc ul{margin:.2em 0;padding-left:1.2em} nav.toc li{break-inside:avoid}
.fns{font-size:11px;color:#555;margin-top:3px} .fns code{background:none;padding:0}
details.erratum{border:1px solid #ddd;border-radius:6px;padding:.3em .8em;margin:.4em 0}
details.erratum summary{cursor:pointer} details.erratum ul{margin:.4em 0}
figure{margin:1.5em 0} figcaption{font-size:13px;color:#555} img{max-width:100%}
.figs{display:flex;gap:1em;align-items:flex-start} .figs figure{flex:1;margin:.5em 0}
code{background:#f4f4f4;padding:1px 3px}
td.statement{font-family:"DejaVu Serif",Georgia,serif;min-width:16em}
"""


def anchor(text: str) -> str:
    """An id for an equation, erratum or section: "AV-14" → "AV-14", "MB: …" → "mb-…"."""
    return "".join(c if c.isalnum() or c == "-" else "-" for c in text).strip("-")


def above_bound(report: dict) -> list[dict]:
    """float64 records against torch above the default 1e-10 line, each with the bound its
    test applied, why, and the extra witness of the same test and quantity (if any)."""
    from ref_cnn.report.plots import DEFAULT_BOUND

    records = report.get("records", [])
    out = []
    for r in records:
        if (
            r["dtype"] == "float64"
            and r["witness"] == "torch"
            and r["rel"] > DEFAULT_BOUND["float64"]
        ):
            second = [
                s
                for s in records
                if s["test"] == r["test"] and s["quantity"] == r["quantity"] and s is not r
            ]
            out.append({**r, "second": second})
    return out


def _short_test(nodeid: str) -> str:
    return nodeid.removeprefix("parity_tests/")


def _functions(q: dict) -> str:
    e = html.escape
    names = ", ".join(f"<code>{e(f.removeprefix('ref_cnn.'))}</code>" for f in q["functions"])
    return f"<div class='fns'>{names}</div>" if names else ""


def to_html(report: dict, figures: dict[str, tuple[str, bytes]]) -> str:
    """One self-contained page: a table of contents, the figures embedded as PNG data URLs,
    the points above the drawn bound explained, one table per article (a row per equation,
    anchored by its ID, with the functions behind it), the errata, what was found correct."""
    e = html.escape
    s = report["summary"]
    above = above_bound(report)
    toc = [
        ("summary", "Summary"),
        ("figures", "Figures: errors per op family, AV training, filters"),
        *([("above-bound", f"The {len(above)} float64 points above 1e-10")] if above else []),
        *((anchor(a), f"{a}: {t.split(',')[0]}") for a, t in ARTICLES.items()),
        ("errata", f"Errata ({len(report['errata'])})"),
        ("checked-correct", "Checked and found correct"),
    ]
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>ref_cnn parity report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>ref_cnn parity report</h1>",
        f"<p class='summary' id='summary'>{e(summary_line(report))}</p>",
        f"<p>{s['failed']} failing, {s['not_verified']} not yet verified; {s['tests_run']} tests run.</p>",
        "<nav class='toc'><ul>"
        + "".join(f"<li><a href='#{k}'>{e(v)}</a></li>" for k, v in toc)
        + "</ul></nav>",
        f"<p>{e(READING)}</p>",
        "<h2 id='figures'>Figures</h2>",
    ]
    shown = []
    for key, (caption, png) in figures.items():
        data = base64.b64encode(png).decode("ascii")
        shown.append(
            f"<figure id='fig-{e(key)}'><img alt='{e(caption)}' src='data:image/png;base64,{data}'><figcaption>{e(caption)}</figcaption></figure>"
        )
    out += shown[:1]  # the error plot full width, the others side by side
    if shown[1:]:
        out.append("<div class='figs'>" + "".join(shown[1:]) + "</div>")
    if above:
        out.append(
            "<h2 id='above-bound'>The float64 points above the 1e-10 line</h2>"
            "<p>Each test holds its result to a bound; the dashed line of the error plot is the "
            "default one. These points were held to their test's own bound (the bar above "
            "them in the plot), for the reason given:</p><table><tr><th>test</th><th>quantity</th>"
            "<th class='num'>error vs torch</th><th class='num'>bound applied</th><th>why</th></tr>"
        )
        for r in above:
            seconds = "; ".join(
                f"against {x['witness']}: {x['rel']:.1e} (bound {x.get('bound', float('nan')):.0e})"
                for x in r["second"]
            )
            why = r.get("why", "the test's own bound") + (
                f". Second witness {seconds}." if seconds else ""
            )
            out.append(
                f"<tr><td><code>{e(_short_test(r['test']))}</code></td><td>{e(r['quantity'])}</td>"
                f"<td class='num'>{r['rel']:.1e}</td><td class='num'>{_fmt(r.get('bound'))}</td>"
                f"<td>{e(why)}</td></tr>"
            )
        out.append("</table>")
    for article, title in ARTICLES.items():
        out.append(
            f"<h2 id='{anchor(article)}'>{e(article)}: {e(title)}</h2><table class='equations'><tr>"
            + "".join(
                f"<th class='num'>{e(h)}</th>" if i in (4, 5, 6, 7) else f"<th>{e(h)}</th>"
                for i, h in enumerate(HEADER)
            )
            + "</tr>"
        )
        for q in report["equations"]:
            if q["article"] != article:
                continue
            cells = _row_cells(q)
            cls = {"pass": "pass", "fail": "fail"}.get(q["status"], "pending")
            out.append(
                f"<tr id='{anchor(q['id'])}'>"
                + f"<td class='num'><a href='#{anchor(q['id'])}'>{e(cells[0])}</a></td>"
                + f"<td>{e(cells[1])}{_functions(q)}</td>"
                + f"<td class='statement'>{e(cells[2])}</td>"
                + f"<td class='{cls}'>{e(cells[3])}</td>"
                + "".join(f"<td class='num'>{e(c)}</td>" for c in cells[4:8])
                + f"<td>{e(cells[8])}</td>"
                + "</tr>"
            )
        out.append("</table>")
    out.append(
        "<h2 id='errata'>Errata</h2><p>Where an article departs from correct maths, each "
        "measured by a demonstration in <code>ref_cnn.errata</code> (open one for its text; "
        "<code>python -m ref_cnn explain ID</code> prints it too).</p>"
    )
    for er in report["errata"]:
        out.append(
            f"<details class='erratum' id='{anchor(er['id'])}'><summary><b>{e(er['id'])}</b> ({e(er['article'])}): {e(er['where'])}</summary><ul>"
            f"<li><b>What the article does:</b> {e(er['wrong'])}</li>"
            f"<li><b>Correct:</b> {e(er['correct'])}</li>"
            f"<li><b>Effect:</b> {e(er['effect'])}</li>"
            f"<li><b>Measured</b> (<code>{e(er['demo'])}</code>): {e(_measured(er['measured']))}</li></ul></details>"
        )
    out.append(
        "<h2 id='checked-correct'>Checked and found correct</h2><ul>"
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
