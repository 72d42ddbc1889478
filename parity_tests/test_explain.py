"""`python -m ref_cnn explain ID`: every catalogue ID, unknown IDs, the report's errors."""

from __future__ import annotations

import json
import re

import pytest

from ref_cnn.catalogue import ARTICLES, EQUATIONS
from ref_cnn.cli import main
from ref_cnn.explain import explain, resolve_id

# the equations a reader must find as readable lines of the public conv / pool modules
READABLE = {
    "IC-4": "conv.py",
    "IC-5": "conv.py",
    "IC-7": "conv.py",
    "MB-5": "conv.py",
    "AV-14": "conv.py",
    "IC-8": "pool.py",
    "IC-9": "pool.py",
}


@pytest.mark.parametrize("eid", [e.id for e in EQUATIONS])
def test_every_id_is_explained(eid, tmp_path):
    e = next(e for e in EQUATIONS if e.id == eid)
    text = explain(eid, tmp_path / "no-report.json")
    assert text.startswith(f"{eid}: {e.what}")
    assert e.statement in text and ARTICLES[e.article] in text and e.reference in text
    for dotted in e.functions:  # every implementing function, with where its source is
        assert re.search(rf"^  {re.escape(dotted)}  \[[^\]]+(:\d+|source\))", text, re.M), dotted
    assert "none found (looked for" in text and "no-report.json" in text


@pytest.mark.parametrize("eid", list(READABLE))
def test_the_readable_lines_are_shown(eid):
    """Each line shown cites the ID; at least one is in the public module's readable version."""
    text = explain(eid)
    shown = re.findall(r"^  (\S+)  \[([^\]:]+):\d+\]\n((?:\s+\d+ \| .*\n)*)", text, re.M)
    public = [lines for name, path, lines in shown if path.endswith(f"functional/{READABLE[eid]}")]
    assert any("_readable" in name for name, path, lines in shown if lines.strip()), text
    assert any(lines.strip() for lines in public), text
    for _, _, lines in shown:
        for line in lines.strip().splitlines():
            assert eid in line or not line.strip().split("| ", 1)[1].startswith("#"), line


def test_ids_are_read_leniently_and_unknown_ones_get_close_matches(capsys):
    assert resolve_id("av14") == resolve_id("AV 14") == resolve_id("av-14") == "AV-14"
    with pytest.raises(ValueError, match=r"unknown equation ID 'IC-71'.*did you mean .*IC-7"):
        resolve_id("IC-71")
    assert main(["explain", "MB-99"]) == 2
    err = capsys.readouterr().err
    assert "unknown equation ID 'MB-99'" in err and "MB-9" in err


def test_without_an_id_lists_all_46(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [e.id for e in EQUATIONS]


def test_last_measured_errors_come_from_the_report(tmp_path, capsys):
    report = {
        "equations": [
            {
                "id": "AV-14",
                "status": "pass",
                "cases": 88,
                "witnesses": ["literal loops", "torch"],
                "max_rel_error": {"dw float64 vs torch": 1.9e-15, "dw float32 vs torch": 1.2e-6},
                "max_abs_error": {"dw float64 vs torch": 3.0e-14, "dw float32 vs torch": 2.0e-5},
            }
        ]
    }
    path = tmp_path / "parity.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    assert main(["explain", "AV-14", "--report", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Last measured errors ({path}): status pass, 88 cases" in out
    assert re.search(r"dw float64 vs torch\s+rel 1\.9e-15\s+abs 3\.0e-14", out)
    assert "measured against: literal loops, torch" in out


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    assert "statement" in out and "parity.json" in out and "explain AV-14" in out
