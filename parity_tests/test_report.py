"""The parity report: JSON schema, Markdown, and the HTML page rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ref_cnn.catalogue import EQUATIONS
from ref_cnn.ops_catalogue import EQUATIONS as OPS
from ref_cnn.report import build

HERE = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OP_TABLES = len({e.id.split("-")[0] for e in OPS})  # one table per op family with entries


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A quick report over one test file (the full suite is the README's main command)."""
    out = tmp_path_factory.mktemp("report")
    build(out, quick=True, tests_dir=HERE / "test_correlate.py")
    return out


@pytest.mark.train
def test_json_schema(report_dir):
    report = json.loads((report_dir / "parity.json").read_text(encoding="utf-8"))
    assert list(report) == [
        "summary",
        "equations",
        "errata",
        "checked_correct",
        "trajectory",
        "records",
        "ops",
    ]
    assert set(report["summary"]) == {
        "equations",
        "verified",
        "failed",
        "not_verified",
        "tests_run",
        "tests_failed",
    }
    assert [q["id"] for q in report["equations"]] == [e.id for e in EQUATIONS]
    keys = {
        "id",
        "status",
        "article",
        "what",
        "statement",
        "reference",
        "functions",
        "witnesses",
        "cases",
        "tests",
        "max_abs_error",
        "max_rel_error",
        "pending",
        "failed_tests",
    }
    for q in report["equations"]:
        assert set(q) == keys
        assert q["status"] in {"pass", "fail", "not verified"}
        assert all(re.fullmatch(r".+ float(32|64) vs .+", k) for k in q["max_rel_error"])
    verified = {q["id"] for q in report["equations"] if q["status"] == "pass"}
    assert {"AV-1", "IC-1", "IC-2", "IC-3", "MB-1", "MB-2"} <= verified
    assert {q["status"] for q in report["equations"] if q["id"] == "IC-8"} == {
        "not verified"
    }  # not in this subset
    for e in report["errata"]:
        assert set(e) == {
            "id",
            "article",
            "where",
            "wrong",
            "correct",
            "effect",
            "measured",
            "demo",
        }
        assert e["measured"]
    assert len(report["errata"]) >= 10 and report["checked_correct"]
    traj = report["trajectory"]
    assert len(traj["ours"]) == len(traj["torch"]) == traj["steps"] + 1
    assert traj["max_rel_difference"] < 1e-9


@pytest.mark.train
def test_markdown_has_a_table_per_article_and_the_errata(report_dir):
    md = (report_dir / "parity.md").read_text(encoding="utf-8")
    assert md.count("| ID | what | statement | status |") == 3 + OP_TABLES
    for e in EQUATIONS:  # each equation's statement beside its row
        assert re.search(rf"^\| {e.id} \| [^\n]*\| {re.escape(e.statement)} \|", md, re.M), e.id
    assert "## Errata" in md and "AV-code-1" in md and "IC-code-1" in md
    assert re.search(r"\*\*\d+/46 equations verified, \d+ errata demonstrated\*\*", md)
    assert re.search(rf"\*\*\d+/{len(OPS)} op equations verified \(ACT \d+/\d+", md)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (scripts/dev.sh test installs it when it can)",
)
@pytest.mark.train  # the report it renders needs the train extra and torch, as the tests above
def test_html_renders_tables_and_figures_in_headless_chromium(report_dir, tmp_path):
    page = (report_dir / "parity.html").as_uri()
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tempfile.mkdtemp()}",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count("<table") == 3 + OP_TABLES
    assert len(re.findall(r"<tr>", dom)) == 3 + len(EQUATIONS) + OP_TABLES + len(OPS)
    assert 'data-images-loaded="3"' in dom  # all three figures decoded
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 50_000
