"""The documentation site and the README: every equation typeset and placed, the generated
figures equal to their sources, the README's example true, and the site built with
warnings as errors and rendered by a real browser with its maths typeset."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import docs_site  # noqa: E402
from equations_latex import LATEX  # noqa: E402

from ref_cnn.equations.articles import EQUATIONS  # noqa: E402

pytestmark = pytest.mark.engineering
IDS = [e.id for e in EQUATIONS]


def test_every_equation_has_latex_and_no_other_id_does():
    assert set(LATEX) == set(IDS)


def test_every_erratum_is_on_its_articles_page_once_in_full():
    from ref_cnn.articles.errata.registry import DEMOS

    errata = docs_site.errata_records(None)
    assert len(errata) == len(DEMOS)
    pages = "".join(docs_site.article_page(a, None, errata) for a in ("AV", "MB", "IC"))
    for err in errata:
        assert pages.count(f"Erratum {err['id']}:") == 1, err["id"]
        own = docs_site.article_page(err["id"].split("-")[0], None, errata)
        assert f"Erratum {err['id']}:" in own, f"{err['id']} is not on its own article's page"
    assert "not in this build" in pages


def test_errata_take_their_numbers_from_the_report():
    parity = {"errata": [{"id": "AV-code-1", "measured": {"cosine": 0.5}}]}
    records = {r["id"]: r for r in docs_site.errata_records(parity)}
    assert records["AV-code-1"]["measured"] == {"cosine": 0.5}
    assert records["AV-code-2"]["measured"] == {}


def test_an_id_is_cited_whole():
    assert docs_site.cites("dw = ...  # IC-5, AV-14: Σ_n X_j ⋆ δ_i", "AV-14")
    assert not docs_site.cites("dw = ...  # AV-14", "AV-1")
    assert not docs_site.cites("# AV-code-1", "AV-1")


def test_code_shows_the_lines_that_cite_the_id_without_the_docstring():
    where, code = docs_site.code_for("ref_cnn.functional.conv2d_backward", "AV-14")
    assert where.startswith("ref_cnn/functional/conv.py:")
    assert code.startswith("def conv2d_backward(")
    assert "AV-14" in code and '"""' not in code


def test_article_page_without_a_report_says_so():
    page = docs_site.article_page("AV", None, [])
    assert page.count("$$") == 2 * sum(e.article == "AV" for e in EQUATIONS)
    assert "not measured in this build" in page
    assert [h.split(":")[0] for h in re.findall(r"^## (AV-\d+:)", page, re.M)] == [
        i for i in IDS if i.startswith("AV")
    ]


def test_article_page_shows_the_report_and_the_errata_in_place():
    record = {
        "id": "AV-14",
        "status": "pass",
        "cases": 7,
        "witnesses": ["torch"],
        "max_rel_error": {"dw float64 vs torch": 4.1e-15, "dw float32 vs torch": 1.5e-6},
    }
    erratum = {
        "id": "AV-code-1",
        "demo": "ref_cnn.articles.errata.av.averaged_delta",
        "where": "backprop (AV-14)",
        "wrong": "δ averaged",
        "correct": "δ per image",
        "effect": "a wrong step",
        "measured": {"cosine": 0.65},
    }
    page = docs_site.article_page("AV", {"equations": [record]}, [erratum])
    section = page.split("## AV-14:")[1].split("\n## ")[0]
    assert "4.1e-15" in section and "1.5e-06" in section and "7 cases" in section
    assert "Erratum AV-code-1" in section and "cosine: 0.65" in section
    assert "Erratum" not in page.split("## AV-14:")[0]


def test_readme_figures_are_generated_from_their_sources():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    written = docs_site.blocks_in(text)
    for name, body in docs_site.readme_blocks().items():
        assert name in written, f"README.md has no <!-- {name}:start --> block"
        assert written[name].strip() == body.strip(), (
            f"README.md's {name} block is stale: python scripts/docs_site.py --readme"
        )


def test_benchmarks_tables_are_generated_from_the_kept_runs():
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    written = docs_site.blocks_in(text)
    for name, body in docs_site.benchmarks_blocks().items():
        assert written.get(name, "").strip() == body.strip(), (
            f"BENCHMARKS.md's {name} block is stale: python scripts/docs_site.py --benchmarks"
        )


def test_docs_pages_figures_are_generated_from_their_sources():
    for path, blocks in docs_site.docs_blocks().items():
        written = docs_site.blocks_in(path.read_text(encoding="utf-8"))
        for name, body in blocks.items():
            assert written.get(name, "").strip() == body.strip(), (
                f"{path.name}'s {name} block is stale: python scripts/docs_site.py --readme"
            )
    assert "| LeNet" in docs_site.training_table()  # at least one kept run


def test_replacing_blocks_keeps_the_hand_written_text():
    text = "intro\n<!-- t:start -->\nold\n<!-- t:end -->\nnotes\n"
    assert docs_site.replace_blocks(text, {"t": "new"}) == (
        "intro\n<!-- t:start -->\nnew\n<!-- t:end -->\nnotes\n"
    )


def test_readme_first_screen_holds_the_install_the_example_and_the_two_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:35])
    for needed in (
        "pip install -e .",
        "```python",
        "conv2d_backward(",
        "dev.sh report",
        "dev.sh test",
    ):
        assert needed in first_screen, f"README's first 35 lines lack {needed!r}"


def test_readme_example_computes_the_articles_worked_example():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 6
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102
    np.testing.assert_array_equal(scope["y"][0, 0], [[9, 32], [14, 26]])
    from ref_cnn.functional import correlate2d

    x = scope["x"][0, 0]
    dy = np.ones((2, 2))  # the example's E = Σ y
    np.testing.assert_allclose(scope["df"][0, 0], correlate2d(x, dy), rtol=1e-12)  # AV-14
    assert scope["dx"].shape == scope["x"].shape


@pytest.fixture(scope="module")
def site():
    pytest.importorskip("sphinx", reason="the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("myst_parser", reason="the docs extra: pip install -e '.[docs]'")
    out = Path(tempfile.mkdtemp(prefix="ref_cnn-docs-"))
    try:
        yield docs_site.build(out, parity_path=out / "no-report.json").parent
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_site_builds_offline(site):
    for page in ("index", "av", "mb", "ic", "api", "kit", "setup", "performance"):
        assert (site / f"{page}.html").exists(), page
    html = (site / "av.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert any("mathjax" in s for s in scripts)
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert "conv2d_backward" in (site / "api.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", ["av", "mb", "ic"])
def test_browser_typesets_every_equation(site, page, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium (scripts/dev.sh installs Debian's chromium as root)")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000"]  # fmt: skip
    url = (site / f"{page}.html").as_uri()
    dom = subprocess.run([*cmd, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    equations = sum(e.article == page.upper() for e in EQUATIONS)
    assert dom.stdout.count("<mjx-container") >= equations, "MathJax typeset too few equations"
    assert "<mjx-merror" not in dom.stdout, "MathJax reports a TeX error"
    raw = re.findall(r'<div class="math[^"]*">\s*\\\[', dom.stdout)
    assert not raw, "equations left as raw TeX"
    shot = tmp_path / f"{page}.png"
    subprocess.run([*cmd, "--window-size=1200,1600", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert shot.exists() and shot.stat().st_size > 20_000


def test_links_read_on_the_site():
    text = "[kit](kit.md), [speed](../BENCHMARKS.md#targets), [code](../ref_cnn/testing.py), [w](https://x.y)"
    assert docs_site._site_links(text) == (
        "[kit](kit.md), [speed](performance.md#targets), code (`../ref_cnn/testing.py`), [w](https://x.y)"
    )
