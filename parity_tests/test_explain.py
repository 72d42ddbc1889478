"""`python -m ref_cnn explain ID`: every catalogue ID, unknown IDs, the report's errors."""

from __future__ import annotations

import json
import re

import pytest

from ref_cnn import _io
from ref_cnn.articles.errata import DEMOS
from ref_cnn.cli import main
from ref_cnn.equations.articles import ARTICLES, EQUATIONS
from ref_cnn.equations.explain import errata_texts, erratum_equations, explain, resolve_id

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
    assert len(text.splitlines()) <= 48, f"{eid} does not fit a screen"


@pytest.mark.parametrize("eid", list(READABLE))
def test_the_readable_lines_are_shown(eid):
    """Each line shown cites the ID; at least one is in the public module's equations (the
    public op's own body, which `*_readable` runs whatever the kernel set)."""
    text = explain(eid)
    shown = re.findall(r"^  (\S+)  \[([^\]:]+):\d+\]\n((?:\s+\d+ \| .*\n)*)", text, re.M)
    public = [lines for name, path, lines in shown if path.endswith(f"functional/{READABLE[eid]}")]
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
    assert [line.split()[0] for line in out[: len(EQUATIONS)]] == [e.id for e in EQUATIONS]
    assert "AV-code-1" in "\n".join(out[len(EQUATIONS) :])
    errata = out[len(EQUATIONS) + 2 :]  # after a blank line and the heading
    assert errata and {line.index(line.split()[1]) for line in errata} == {14}, errata  # a column
    assert max(map(len, out)) <= 100


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
    assert "against literal loops, torch" in out


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    assert "statement" in out and "parity.json" in out and "explain AV-14" in out


# AV-14's keys as the report records them: its tests verify the whole AV chain
AV14_KEYS = [
    *(f"{q} float64 vs torch" for q in ("E", "dE/dA1", "dE/dO", "dE/dW", "dE/dZ2", "dE/db")),
    *(f"{q} float64 vs torch" for q in ("dE/df", "db", "dw", "dx", "y")),
    "dE/df float64 vs literal loops",
    "df float64 vs scipy.signal.correlate2d",
    "dw float64 vs torch.nn.grad",
    "dx float64 vs torch.nn.grad",
    "E float64 vs literal loops",
    "dE/dW float64 vs literal loops",
]


def _report(tmp_path, eid, keys):
    errors = {k: 1e-15 * (i + 1) for i, k in enumerate(keys)}
    entry = {"id": eid, "status": "pass", "cases": 33, "witnesses": ["torch"]}
    entry |= {"max_rel_error": errors, "max_abs_error": errors}
    path = tmp_path / "parity.json"
    path.write_text(json.dumps({"equations": [entry], "errata": []}), encoding="utf-8")
    return path


def test_av14_fits_a_screen_with_its_own_quantities_errata_and_readable_line(tmp_path):
    text = explain("AV-14", _report(tmp_path, "AV-14", AV14_KEYS))
    assert len(text.splitlines()) <= 40, text
    rows = re.findall(r"^  (\S+) float64 vs .* rel ", text, re.M)
    assert sorted(set(rows)) == ["dE/df", "df", "dw"], text  # not E, dE/dA1, y, dx, …
    assert re.search(r"^  AV-code-1: ", text, re.M) and re.search(r"^  AV-text-2: ", text, re.M)
    assert "kernels.gradients" not in text  # the tuned call: the readable einsum instead
    assert 'dw = np.einsum("ngjhwmq,ngihw->gijmq", view, delta)' in text


def test_a_network_s_parameters_are_one_row(tmp_path):
    keys = [f"dlayer{i}.0.conv1.weight float64 vs torch" for i in range(1, 5)] + [
        "y float64 vs torch"
    ]
    text = explain("MB-16", _report(tmp_path, "MB-16", keys))
    assert "every network parameter and buffer float64 vs torch" in text
    assert "dlayer1" not in text and re.search(r"^  y float64 vs torch", text, re.M)


@pytest.mark.parametrize("typed", ["AV-code-1", "av-code-1", "av_code_1", "AV code 1"])
def test_errata_ids_are_explained(typed, capsys):
    assert main(["explain", typed]) == 0
    out = capsys.readouterr().out
    assert out.startswith("AV-code-1 (AV): ") and "Equations: AV-14 (Filter gradient)" in out
    assert "What the article does:" in out and "Correct:" in out and "averaged_delta" in out


def test_every_erratum_concerns_an_equation():
    for eid, erratum in errata_texts().items():
        assert erratum_equations(erratum), f"{eid} names no equation: add it to ERRATUM_EQUATIONS"
    assert len(errata_texts()) == len(DEMOS)


def test_an_installed_package_says_what_is_missing_for_the_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "in_clone", lambda: False)
    monkeypatch.chdir(tmp_path)
    text = explain("AV-14")
    assert str(tmp_path / "reports" / "parity.json") in text and "site-packages" not in text
    assert "not in the installed package" in text and "--report PATH" in text
