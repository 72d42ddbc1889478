"""The parity report: JSON schema, Markdown, and the HTML page rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ref_cnn.equations.articles import EQUATIONS
from ref_cnn.equations.ops import EQUATIONS as OPS
from ref_cnn.report import build
from ref_cnn.report.collect import family
from ref_cnn.report.render import to_html

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
        "failed_tests",
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
    assert len(re.findall(r"<tr>", dom)) == 3 + OP_TABLES + len(OPS)  # headers; op rows
    for q in EQUATIONS:  # a row per equation, anchored by its ID, with its functions
        row = re.search(rf'<tr id="{q.id}">(.*?)</tr>', dom, re.S)
        assert row and all(f.removeprefix("ref_cnn.") in row.group(1) for f in q.functions), q.id
    targets = re.findall(r'href="#([^"]+)"', dom)
    assert "errata" in targets and "AV" in targets and "AV-14" in targets
    assert all(f'id="{t}"' in dom for t in targets), set(targets) - set(
        re.findall(r'id="([^"]+)"', dom)
    )
    assert "decide and document" not in dom and "the first in the window" in dom  # IC-8's rule
    assert 'data-images-loaded="3"' in dom  # all three figures decoded
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 50_000


def test_records_are_labelled_by_op_family_not_by_test_file():
    assert (
        family("parity_tests/test_opinfo.py::test_opinfo_sample_matches_torch[batch_norm-8-x]")
        == "batch norm"
    )
    assert (
        family("parity_tests/test_opinfo.py::test_opinfo_sample_matches_torch[max_unpool2d-1]")
        == "unpooling"
    )
    assert (
        family("parity_tests/test_opinfo.py::test_opinfo_sample_matches_torch[conv_transpose2d-2]")
        == "transposed conv"
    )
    assert (
        family("parity_tests/test_passes_numba.py::test_compiled_max_pool_matches_torch[IC-8]")
        == "pooling"
    )
    assert (
        family("parity_tests/test_passes_numba.py::test_compiled_batch_norm_matches_torch[BN-1]")
        == "batch norm"
    )
    assert family("parity_tests/test_conv_numba.py::test_x") == "convolution"
    assert family("parity_tests/test_architectures.py::test_resnet18[train]") == "whole networks"
    assert (
        family("parity_tests/test_architectures.py::test_batchnorm_matches_torch[affine]")
        == "batch norm"
    )


def _record(
    rel, bound=1e-10, why=None, witness="torch", test="parity_tests/test_opinfo.py::t[batch_norm-8]"
):
    r = {"quantity": "dinput", "witness": witness, "dtype": "float64", "abs": rel, "rel": rel}
    return {
        **r,
        "bound": bound,
        **({"why": why} if why else {}),
        "family": family(test),
        "test": test,
    }


@pytest.mark.train  # matplotlib draws the figure
def test_each_family_s_points_sit_over_its_label(monkeypatch):
    from ref_cnn.report import plots

    figs = []
    monkeypatch.setattr(plots, "_png", lambda fig: figs.append(fig) or b"")
    for tests in (["parity_tests/test_pool.py::t"], ["parity_tests/test_pool.py::t", "parity_tests/test_conv.py::t"]):  # fmt: skip
        plots.error_distribution([_record(1e-16, test=t) for t in tests])
    for fig, n in zip(figs, (1, 2), strict=True):
        ax = fig.axes[0]
        lo, hi = ax.get_xlim()  # a lone family's label was pushed off its points' range
        assert (lo, hi) == (-0.6, n - 0.4) and list(ax.get_xticks()) == list(range(n))
        xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        assert all(abs(x - round(x)) < 0.5 for x in xs)


@pytest.mark.train  # matplotlib draws the figure
def test_points_above_the_default_bound_are_drawn_with_their_bound_and_explained():
    from ref_cnn.report.plots import error_distribution

    report = {
        "summary": {
            "failed": 0,
            "not_verified": 0,
            "tests_run": 3,
            "verified": 46,
            "equations": 46,
        },
        "equations": [],
        "errata": [],
        "checked_correct": [],
        "records": [
            _record(1.4e-10, 1.2e-9, "the batch of two cancels"),
            _record(3e-12, 1e-10, witness="long double"),
            _record(2e-16, test="parity_tests/test_conv.py::t"),
        ],
    }
    assert error_distribution(report["records"])[:4] == b"\x89PNG"
    page = to_html(report, {})
    section = page.split("id='above-bound'")[1].split("</table>")[0]
    assert "the batch of two cancels" in section and "1.2e-09" in section and "1.4e-10" in section
    assert "against long double: 3.0e-12" in section and section.count("<tr>") == 2
    assert "#above-bound" in page


@pytest.mark.engineering
def test_a_failing_test_that_verifies_no_equation_is_named(monkeypatch):
    """The report exits 1 when any test fails; parity.md, parity.html and summary name every
    failing test, also one that carries no equation ID (else "0 failing" and exit 1 disagree)."""
    from ref_cnn.report.collect import summarise
    from ref_cnn.report.render import to_markdown

    nodeid = "parity_tests/test_cli.py::test_train_says_where_it_writes"
    results = [{"nodeid": nodeid, "ids": [], "outcome": "failed", "records": []}]
    summary = summarise(results)["summary"]
    assert summary["failed"] == 0 and summary["failed_tests"] == [nodeid]
    report = {
        "summary": summary,
        "equations": [],
        "errata": [],
        "checked_correct": [],
        "records": [],
    }
    md = to_markdown({**report, "ops": {"summary": summary, "equations": []}})
    assert "1 failed (listed below)" in md and f"- failed: {nodeid}" in md
    assert f"failed: {nodeid}" in to_html(report, {})


def test_quick_keeps_only_the_equation_tests_it_does_not_skip():
    from types import SimpleNamespace

    from ref_cnn.report.collect import QuickSelection

    def item(nodeid, ids=(), numba=False):
        marks = [SimpleNamespace(args=ids)] if ids else []
        return SimpleNamespace(
            nodeid=nodeid,
            iter_markers=lambda name: iter(marks if name == "equation" else []),
            get_closest_marker=lambda name: object() if name == "numba" and numba else None,
        )

    items = [
        item("parity_tests/test_conv.py::test_conv2d_matches_torch[IC-4]", ("IC-4",)),
        item("parity_tests/test_conv.py::test_chunks_equal_one_pass"),  # verifies no equation
        item("parity_tests/test_opinfo.py::test_opinfo_sample_matches_torch[conv2d-1]", ("IC-4",)),
        item("parity_tests/test_architectures.py::test_resnet18[train]", ("MB-16",)),
        item(
            "parity_tests/test_architectures.py::test_torchvision_residual_blocks[MB-16]",
            ("MB-16",),
        ),
        item("parity_tests/test_conv_numba.py::test_x[IC-4]", ("IC-4",), numba=True),
    ]
    dropped = []
    config = SimpleNamespace(
        hook=SimpleNamespace(pytest_deselected=lambda items: dropped.extend(items))
    )
    kept = list(items)
    QuickSelection().pytest_collection_modifyitems(config, kept)
    assert [i.nodeid for i in kept] == [items[0].nodeid, items[4].nodeid]
    assert len(dropped) == 4


def test_report_help_says_what_quick_skips():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(HERE.parent / "scripts" / "parity_report.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for skipped in ("OpInfo", "numba", "ResNet-18", "float32", "30 steps"):
        assert skipped in " ".join(out.split()), out


def test_quick_lists_the_slow_errata_without_running_them(monkeypatch):
    from ref_cnn.articles.errata import av, av_derivation, registry
    from ref_cnn.equations.explain import errata_texts
    from ref_cnn.report import run_errata
    from ref_cnn.report.render import summary_line

    def must_not_run():
        raise AssertionError("--quick ran a slow demonstration")

    errata_texts()  # read from the demonstrations' source before it is replaced below
    slow = [av.standardization_not_differentiated, av_derivation.filter_gradient_is_a_correlation]
    for demo in slow:
        monkeypatch.setattr(demo, "__code__", must_not_run.__code__)
    monkeypatch.setattr(registry, "DEMOS", [*slow, av.sigmoid_overflow])
    records = run_errata(quick=True)
    assert [r["id"] for r in records] == ["AV-code-5", "AV-text-2", "AV-code-7"]
    assert all("not measured" in r["measured"] and r["wrong"] for r in records[:2])
    assert "not measured" not in records[2]["measured"]
    report = {"summary": {"verified": 46, "equations": 46}, "errata": records}
    assert summary_line(report) == "46/46 equations verified, 1 errata demonstrated"
