"""The second catalogue (ACT-n, NRM-n, SPA-n): its IDs, functions and citations, a test
behind every entry, `explain` and the parity report's second count.

[every ID of ref_cnn.equations.ops]
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from helpers import resolve

from ref_cnn.cli import main
from ref_cnn.equations.articles import BY_ID as ARTICLE_IDS
from ref_cnn.equations.explain import explain_op, is_op_id, resolve_op_id
from ref_cnn.equations.ops import BY_ID, EQUATIONS, FAMILIES
from ref_cnn.report.collect import summarise
from ref_cnn.report.ops import ops_markdown, ops_summary_line, summarise_ops


def test_ids_are_numbered_within_their_family_and_apart_from_the_articles():
    ids = [e.id for e in EQUATIONS]
    assert len(ids) == len(set(ids)) and not set(ids) & set(ARTICLE_IDS)
    assert {i.split("-")[0] for i in ids} <= set(FAMILIES)
    for family in FAMILIES:
        numbers = [int(i.split("-")[1]) for i in ids if i.startswith(f"{family}-")]
        assert numbers == list(range(1, len(numbers) + 1)), family


@pytest.mark.parametrize("eid", list(BY_ID))
def test_entry_names_functions_that_exist_and_cite_it(eid):
    """A statement, a source, and functions that import; one of them (or its module) cites
    the ID in its docstring."""
    e = BY_ID[eid]
    assert e.what and e.statement and e.reference and e.functions
    cited = False
    for name in e.functions:
        obj = resolve(name)
        docs = (obj.__doc__ or "") + (sys.modules[obj.__module__].__doc__ or "")
        cited |= bool(re.search(rf"(?<![\w-]){re.escape(eid)}(?!\d)", docs))
    assert cited, f"{eid}: no docstring of {e.functions} cites it"


@pytest.mark.dev
def test_every_entry_is_cited_by_a_test(tests_by_id):
    missing = [e.id for e in EQUATIONS if e.pending is None and e.id not in tests_by_id]
    assert not missing, f"in the ops' catalogue but no test carries the marker: {missing}"


@pytest.mark.dev
def test_every_op_marker_names_a_catalogued_op(tests_by_id):
    unknown = sorted(i for i in tests_by_id if is_op_id(i) and i not in BY_ID)
    assert not unknown, f"tests cite op IDs the catalogue does not have: {unknown}"


@pytest.mark.parametrize("eid", list(BY_ID))
def test_every_op_is_explained(eid, tmp_path):
    e = BY_ID[eid]
    text = explain_op(eid, tmp_path / "no-report.json")
    assert text.startswith(f"{eid}: {e.what}")
    assert e.statement in text and e.reference in text and FAMILIES[eid.split("-")[0]] in text
    for dotted in e.functions:
        assert re.search(rf"^  {re.escape(dotted)}  \[[^\]]+(:\d+|source\))", text, re.M), dotted
    assert "none found (looked for" in text and "no-report.json" in text


def test_cli_explains_an_op_and_refuses_an_unknown_one(capsys):
    assert resolve_op_id("act4") == resolve_op_id("ACT 4") == "ACT-4"
    assert main(["explain", "act-4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ACT-4: ") and re.search(r"^\s+\d+ \| .*# ACT-4:", out, re.M)
    assert main(["explain", "ACT-99"]) == 2
    assert "unknown op ID 'ACT-99'" in capsys.readouterr().err


def test_explain_shows_the_reports_errors_for_an_op(tmp_path, capsys):
    q = {
        "id": "ACT-5",
        "status": "pass",
        "cases": 12,
        "witnesses": ["finite differences", "torch"],
        "max_rel_error": {"dinput float64 vs torch": 1.8e-16},
        "max_abs_error": {"dinput float64 vs torch": 2.0e-16},
    }
    path = tmp_path / "parity.json"
    path.write_text(json.dumps({"equations": [], "ops": {"equations": [q]}}), encoding="utf-8")
    assert main(["explain", "ACT-5", "--report", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Last measured errors ({path}): status pass, 12 cases" in out
    assert re.search(r"dinput float64 vs torch\s+rel 1\.8e-16\s+abs 2\.0e-16", out)


def test_the_report_counts_the_ops_apart_from_the_articles():
    record = {"quantity": "y", "witness": "torch", "dtype": "float64", "abs": 1e-17, "rel": 2e-16}
    results = [
        {"nodeid": "t.py::a", "outcome": "passed", "records": [record], "ids": ["ACT-1", "AV-6"]},
        {"nodeid": "t.py::b", "outcome": "failed", "records": [], "ids": ["ACT-2"]},
    ]
    articles = summarise(results)
    assert articles["summary"]["equations"] == 46 and articles["summary"]["verified"] == 1
    ops = summarise_ops(results)
    s = ops["summary"]
    assert (s["equations"], s["verified"], s["failed"]) == (len(EQUATIONS), 1, 1)
    n_act = sum(e.id.startswith("ACT-") for e in EQUATIONS)
    assert s["families"]["ACT"] == [1, n_act]
    line = ops_summary_line(ops)
    assert line.startswith(f"1/{len(EQUATIONS)} op equations verified (ACT 1/{n_act}")
    md = ops_markdown(ops)
    assert f"**{line}**" in md and "| ACT-1 | ReLU6 |" in md
