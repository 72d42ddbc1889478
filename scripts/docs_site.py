#!/usr/bin/env python
"""The documentation site: docs/site/'s sources plus pages generated from the code, built
by Sphinx with warnings as errors into build/docs/html (bash scripts/dev.sh docs).

    python scripts/docs_site.py                 # generate and build; prints the index page
    python scripts/docs_site.py --out DIR       # build into DIR/html (sources in DIR/src)
    python scripts/docs_site.py --readme        # rewrite README.md's (and docs/'s) generated blocks
    python scripts/docs_site.py --benchmarks    # rewrite BENCHMARKS.md's generated blocks

Generated pages: one per article (AV, MB, IC), walking its equations in catalogue order,
each typeset (scripts/equations_latex.py) with the code lines that cite its ID, its
witnesses, its last measured error (reports/parity.json when present) and the errata that
concern it; the setup sizes (docs/generated/setup.json); the performance page
(BENCHMARKS.md, whose tables are generated from docs/bench_runs/); the kit's guide
(docs/kit.md where present). The API reference is autodoc (docs/site/api.md).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # imported by a test, ref_cnn is the one the test imports
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from equations_latex import LATEX  # noqa: E402

SITE = ROOT / "docs" / "site"
PARITY = ROOT / "reports" / "parity.json"
SETUP = ROOT / "docs" / "generated" / "setup.json"
BENCH_RUNS = ROOT / "docs" / "bench_runs"
# README/BENCHMARKS blocks between <!-- NAME:start --> and <!-- NAME:end --> are generated.
MARKER = re.compile(
    r"(<!-- (?P<name>[\w-]+):start -->\n)(?P<body>.*?)(<!-- (?P=name):end -->)", re.S
)
FULL_SOURCE_LINES = 30  # a function this short is shown whole; a longer one by its cited lines


def resolve(path: str):
    """The object named by a dotted path ("ref_cnn.functional.conv2d")."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):  # the attribute first: functional.im2col is a function
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


def cites(line: str, eq_id: str) -> bool:
    """Whether a source line names the equation (AV-1 but not AV-14)."""
    return re.search(rf"(?<![\w-]){re.escape(eq_id)}(?![\w-]|-\d)", line) is not None


def code_for(path: str, eq_id: str) -> tuple[str, str]:
    """(where, code) for one implementing function, its docstring left out (the API
    reference has it): the whole function when it is short, else its first line and the
    lines that cite `eq_id`, each with the line before it."""
    obj = resolve(path)
    target = inspect.unwrap(obj)
    try:
        lines, start = inspect.getsourcelines(target)
        # the path inside the package's folder: a clone's ref_cnn or an installed one
        top = Path(importlib.import_module("ref_cnn").__file__).resolve().parents[1]
        file = Path(inspect.getsourcefile(target)).resolve().relative_to(top)
    except (TypeError, OSError, ValueError):  # a constant (VEF): its value
        return path, f"{path.rsplit('.', 1)[-1]} = {obj!r}"
    lines = _without_docstrings(lines)
    where = f"{file}:{start}"
    if len(lines) <= FULL_SOURCE_LINES:
        return where, "".join(lines).rstrip()
    keep = {0}
    for i, line in enumerate(lines):
        if cites(line, eq_id):
            keep |= {i - 1, i} if i else {i}
    shown, last = [], -1
    for i in sorted(keep):
        if i > last + 1:
            shown.append(" " * _indent(lines[i]) + "...\n")
        shown.append(lines[i])
        last = i
    if len(keep) == 1:
        shown.append("    ...  # the docstring cites the ID (API reference)\n")
    return where, "".join(shown).rstrip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _without_docstrings(lines: list[str]) -> list[str]:
    """Source lines with the docstrings of the function or class (and its methods) removed."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent("".join(lines)))
    drop: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str):  # fmt: skip
                drop |= set(range(first.lineno - 1, first.end_lineno))
    return [line for i, line in enumerate(lines) if i not in drop]


def load_parity(path: Path = PARITY) -> dict | None:
    """reports/parity.json when a report has been run here, else None."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def errata_records(parity: dict | None) -> list[dict]:
    """Every erratum's text (read from ref_cnn/articles/errata's source, as `explain` does: no
    demonstration runs here) with the numbers the last report measured, where there is one."""
    from ref_cnn.equations.explain import errata_texts

    measured = {r["id"]: r for r in (parity or {}).get("errata", [])}
    return [{**r, "measured": measured.get(i, {}).get("measured", {})}
            for i, r in errata_texts().items()]  # fmt: skip


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def measured_lines(record: dict | None) -> list[str]:
    """The last measured errors of one equation: the largest relative error against torch in
    float64 and float32, and against the other witnesses."""
    if record is None:
        return ["*Last measured error:* not measured in this build "
                "(`bash scripts/dev.sh report` writes `reports/parity.json`)."]  # fmt: skip
    rel = record.get("max_rel_error", {})
    groups = {"float64 vs torch": [], "float32 vs torch": [], "float64 vs other witnesses": []}
    for key, value in rel.items():
        dtype = "float32" if " float32 " in f" {key} " else "float64"
        torch = key.endswith("vs torch") or " vs torch " in key
        if torch:
            groups[f"{dtype} vs torch"].append((value, key))
        elif dtype == "float64":
            groups["float64 vs other witnesses"].append((value, key))
    lines = [
        f"*Last measured error* (`reports/parity.json`): status **{record.get('status')}**, "
        f"{record.get('cases', 0)} cases.",
        "",
        "| compared | largest relative error | on |",
        "|---|---|---|",
    ]
    for label, values in groups.items():
        if values:
            worst, key = max(values)
            lines.append(f"| {label} | {worst:.1e} | {_fmt(key)} |")
        else:
            lines.append(f"| {label} | – | |")
    return lines


def erratum_lines(err: dict) -> list[str]:
    lines = [
        f":::{{admonition}} Erratum {err['id']}: {err['where']}",
        ":class: warning",
        "",
        f"- **The article:** {err['wrong']}",
        f"- **Correct:** {err['correct']}",
        f"- **What it changes:** {err['effect']}",
    ]
    if err.get("measured"):
        lines.append("- **Measured** (`" + err["demo"] + "`, `reports/parity.json`): " + "; ".join(
            f"{k}: {_fmt(v)}" for k, v in err["measured"].items()))  # fmt: skip
    else:
        lines.append(f"- **Measured:** not in this build (`{err['demo']}` demonstrates it; "
                     "`bash scripts/dev.sh report` runs it)")  # fmt: skip
    return lines + [":::", ""]


# where an erratum belongs on its own article's page when its text names no equation of it
PLACED_AT = {"AV-code-8": ("AV-15",)}  # AV's U[0, 1) start: the experiment's initialisation

SHORT_TITLES = {
    "AV": "the mathematics behind CNNs (Analytics Vidhya)",
    "MB": "CNNs' mathematics (Mebsout)",
    "IC": "CNN + mathematical intuition (The Independent Code)",
}


def article_page(article: str, parity: dict | None, errata: list[dict]) -> str:
    """One article's page: its equations in order, each typeset with its code, witnesses,
    last measured error and errata."""
    from ref_cnn.equations.articles import ARTICLES, EQUATIONS

    records = {r["id"]: r for r in (parity or {}).get("equations", [])}
    from ref_cnn.equations.explain import erratum_equations

    # each erratum in full at the first equation it concerns, named at the others
    by_eq: dict[str, list[dict]] = {}
    see_also: dict[str, list[str]] = {}
    for err in errata:
        eqs = [*PLACED_AT.get(err["id"], ()), *erratum_equations(err)]
        own = [i for i in eqs if i.startswith(err["id"].split("-")[0])]  # its article's first
        first, *others = dict.fromkeys(own + eqs) or [""]
        by_eq.setdefault(first, []).append(err)
        for eid in others:
            see_also.setdefault(eid, []).append(f"{err['id']} (under {first})")
    equations = [e for e in EQUATIONS if e.article == article]
    lines = [
        f"# {article}: {SHORT_TITLES[article]}",
        "",
        f"*{ARTICLES[article]}.* The {len(equations)} equations of this article in its order, each in its correct "
        "form, with the code that computes it (the lines that cite its ID), what the tests "
        "compare it with, the last measured error and, where the article's text or code "
        "differs, the erratum.",
        "",
    ]
    for e in equations:
        lines += [f"## {e.id}: {e.what}", "", "$$", LATEX[e.id], "$$", "",
                  f"In the catalogue's words: {e.statement}", ""]  # fmt: skip
        if e.pending:
            lines += [f"*Not yet verified:* {e.pending}.", ""]
        lines += ["**Code**", ""]
        for path in e.functions:
            where, code = code_for(path, e.id)
            lines += [f"`{path}` ({where})", "", "```python", code, "```", ""]
        record = records.get(e.id)
        witnesses = e.reference
        if record and record.get("witnesses"):
            witnesses += "; measured against: " + ", ".join(record["witnesses"])
        lines += [f"**Witnesses:** {witnesses}", "", *measured_lines(record), ""]
        for err in by_eq.get(e.id, []):
            lines += erratum_lines(err)
        if e.id in see_also:
            lines += ["*Errata that also concern it:* " + ", ".join(see_also[e.id]) + ".", ""]
    return "\n".join(lines) + "\n"


def setup_page(setup: dict | None) -> str:
    lines = ["# Setup: what each install costs", ""]
    if not setup:
        return (
            "\n".join(lines + ["Not measured in this build (`python scripts/measure_setup.py`)."])
            + "\n"
        )
    lines += [setup_table(setup), "", "## The commands", "", commands_table(setup), "",
              "## torch without CUDA", "", torch_cpu(setup), ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def setup_table(setup: dict) -> str:
    """The README's and the site's table of install profiles: size and time, measured by
    scripts/measure_setup.py into docs/generated/setup.json."""
    rows = [
        "| install (from a clone) | what it gives | venv size | time |",
        "|---|---|---|---|",
    ]
    gives = {
        "core": "ref_cnn.functional, nn, literal, optim, the kit on NumPy code",
        "fast": "+ numba: the compiled kernels",
        "docs": "+ Sphinx: `bash scripts/dev.sh docs`",
        "torch": "+ torch, torchvision: from_torch, the torch witness",
        "dev": "everything: the tests and the parity report",
    }
    profiles = setup.get("profiles", {})
    for name, p in sorted(profiles.items(), key=lambda kv: list(gives).index(kv[0])):
        size = f"{p['bytes'] / 1e9:.1f} GB" if p["bytes"] >= 1e9 else f"{p['bytes'] / 1e6:,.0f} MB"
        what = " (what the two commands set up)" if name == "dev" else ""
        rows.append(f"| `{p['install']}`{what} | {gives.get(name, '')} | {size} "
                    f"| {p['seconds']:.0f} s |")  # fmt: skip
    if "dev_venv_bytes" in setup and "dev" not in setup.get("profiles", {}):
        rows.append(f"| `pip install -e \".[dev]\"` (what the two commands set up) | everything: "
                    f"the tests and the parity report | {setup['dev_venv_bytes'] / 1e9:.1f} GB | "
                    "not measured here |")  # fmt: skip
    return (
        "\n".join(rows) + f"\n\n(Measured on {setup.get('machine', 'this machine')} by "
        "`python scripts/measure_setup.py`, pip's cache empty; torch and torchvision come "
        "from a copy on that machine's disk, so the dev time leaves out their download.)"
    )


def _pin(package: str) -> str:
    """The version constraints.txt pins `package` to."""
    text = (ROOT / "constraints.txt").read_text()
    return re.search(rf"^{re.escape(package)}==(\S+)$", text, re.M).group(1)


def torch_cpu(setup: dict | None) -> str:
    """How to install torch's CPU-only wheels, and what they leave out of the dev venv."""
    setup = setup or {}
    saved = ""
    if setup.get("gpu_only_bytes") and setup.get("dev_venv_bytes"):
        saved = (
            f" Of the dev venv's {setup['dev_venv_bytes'] / 1e9:.1f} GB, "
            f"{setup['gpu_only_bytes'] / 1e9:.1f} GB are the CUDA libraries and triton that "
            "torch's default Linux wheel pulls in for GPUs (measured); its CPU-only wheels leave "
            "them out, and torch's own CPU wheel is smaller too (not measured here: that index "
            "was out of reach)."
        )
    return (
        "ref_cnn runs on the CPU. To set up `.venv` with torch's CPU-only wheels, install "
        "them first; the commands then keep them (`torch==` in `constraints.txt` accepts "
        "the `+cpu` build)." + saved + "\n\n"
        "```bash\n"
        "python -m venv .venv\n"
        f".venv/bin/pip install torch=={_pin('torch')} torchvision=={_pin('torchvision')} "
        "--index-url https://download.pytorch.org/whl/cpu\n"
        "bash scripts/dev.sh test\n"
        "```"
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not measured here"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def commands_table(setup: dict | None) -> str:
    """The README commands' times, where measure_setup.py --commands has measured them."""
    commands = (setup or {}).get("commands", {})
    rows = ["| command | first run (with its set-up) | later runs |", "|---|---|---|"]
    for name in ("report", "report --quick", "test", "docs"):
        t = commands.get(name)
        t = t or {}
        cells = " | ".join(_duration(t.get(k)) for k in ("first", "seconds"))
        rows.append(f"| `bash scripts/dev.sh {name}` | {cells} |")
    from ref_cnn.report.collect import QUICK_SKIPS

    return "\n".join(rows) + (
        "\n\n`report --quick` still verifies every equation (float64 parity against torch of "
        f"the tests that carry an equation ID); it skips {QUICK_SKIPS}."
    )


def bench_runs() -> dict[str, dict]:
    """{run set: {title, args, runs}} from docs/bench_runs/runs.json and the bench.py results
    (`--json-out`) it names: the latest run of each machine."""
    manifest = json.loads((BENCH_RUNS / "runs.json").read_text())
    return {
        name: {
            **entry,
            "runs": [r for f in entry["files"] for r in json.loads((BENCH_RUNS / f).read_text())],
        }
        for name, entry in manifest.items()
    }


def bench_tables(name: str) -> str:
    """BENCHMARKS.md's generated block for one run set (bench_report's tables, one level down)."""
    import bench_report

    entry = bench_runs()[name]
    text = bench_report.markdown(entry["runs"], argparse.Namespace(**entry["args"]))
    body = text.split("\n", 2)[2]  # drop bench_report's own title
    return re.sub(r"^(#+) ", r"\1# ", body, flags=re.M).strip() + "\n"


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """`text` with each <!-- NAME:start --> … <!-- NAME:end --> block whose NAME is in
    `blocks` replaced by its new body; the hand-written text around them is kept."""

    def sub(m):
        name = m.group("name")
        if name not in blocks:
            return m.group(0)
        return m.group(1) + blocks[name].rstrip("\n") + "\n" + m.group(4)

    return MARKER.sub(sub, text)


def blocks_in(text: str) -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in MARKER.finditer(text)}


TRAINING_RUNS = ROOT / "docs" / "generated" / "training"
DATA_NAMES = {"mnist5k": "MNIST 5k subset", "mnist": "full MNIST", "fashion-mnist": "full Fashion-MNIST"}  # fmt: skip


def training_table() -> str:
    """docs/training.md's results: one row per run's metrics.json kept in
    docs/generated/training/ (the train command's own output, copied as it is). Accuracies
    only: a run is seeded and repeats them; its seconds depend on the machine's load."""
    lines = ["| run | test accuracy | torch, same model, start and batches |", "|---|---|---|"]
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(TRAINING_RUNS.glob("*.json"))]
    for m in sorted(runs, key=lambda m: m["config"]["model"] == "article"):  # LeNet first
        cfg, sizes = m["config"], m["sizes"]
        model = "AV's network (`--model article`)" if cfg["model"] == "article" else "LeNet"
        split = " / ".join(f"{sizes[k]:,}" for k in ("train", "dev", "test"))
        run = (f"{model}, {DATA_NAMES.get(cfg['data'], cfg['data'])} ({split}), "
               f"{cfg['epochs']} epochs, lr {cfg['lr']:g}{', `--torch`' if cfg['torch'] else ''}")  # fmt: skip
        twin = f"{100 * m['torch']['test_accuracy']:.1f} %" if "torch" in m else ""
        lines.append(f"| {run} | **{100 * m['test_accuracy']:.1f} %** | {twin} |")
    return "\n".join(lines)


def docs_blocks() -> dict[Path, dict[str, str]]:
    """The generated blocks of the docs/ pages, by page."""
    return {ROOT / "docs" / "training.md": {"training-results": training_table()}}


def readme_blocks() -> dict[str, str]:
    """README.md's generated blocks from their sources."""
    setup = json.loads(SETUP.read_text()) if SETUP.exists() else None
    return {
        "setup-sizes": setup_table(setup) if setup else "Not measured yet.",
        "command-times": commands_table(setup),
        "torch-cpu": torch_cpu(setup),
        "performance": performance_summary(readme=True),
    }


def _value(text: str) -> str:
    """A target's measured value without the row it was measured on ("1.47 (c)" → "1.47")."""
    return re.match(r"[\d.]+( %|×)?", text).group(0)


def _software(info: dict) -> str:
    """A run's BLAS and versions in brief: "OpenBLAS 0.3.31 SkylakeX, NumPy 2.4.6, torch 2.14.1"."""
    m = re.match(r"openblas (\d+\.\d+\.\d+)[\d.]*, kernel (\w+)", info["blas"])
    blas = f"OpenBLAS {m.group(1)} {m.group(2)}" if m else info["blas"].split(",")[0]
    return f"{blas}, NumPy {info['numpy']}, torch {info['torch'].split('+')[0]}"


def performance_summary(readme: bool = False) -> str:
    """Every target, measured on each machine's latest run at each thread count (✓ met,
    ✗ missed): a row per target, a column per machine. For the README, each cell names its
    thread counts, and a machine shows only the targets runs.json sets for it."""
    import bench_report

    sets = bench_runs()
    table: dict[str, dict[str, str]] = {}
    for name, entry in sets.items():
        wanted = entry.get("readme_targets") if readme else None
        for label, vals in bench_report.targets(entry["runs"]):
            if wanted and not any(w in label for w in wanted):
                continue
            table.setdefault(label, {})[name] = ", ".join(
                (f"{t} → " if readme else "") + _value(text) + (" ✓" if ok else " ✗")
                for t, (text, ok) in vals.items()
            )
    head = ["target (float32 unless said)"] + [
        f"{e['title']} ({_software(e['runs'][0]['info'])})"
        + (
            ": threads → value"
            if readme
            else f", threads {', '.join(str(r['threads']) for r in e['runs'])}"
        )
        for e in sets.values()
    ]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for label, cells in table.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(n, "") for n in sets) + " |")
    return "\n".join(lines)


def build(out: Path, parity_path: Path = PARITY) -> Path:
    """Generate the pages into out/src and build out/html with sphinx-build -W; returns the
    index page."""
    from ref_cnn.equations.articles import ARTICLES

    src, html = out / "src", out / "html"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(SITE, src)
    parity = load_parity(parity_path)
    errata = errata_records(parity)
    for article in ARTICLES:
        (src / f"{article.lower()}.md").write_text(
            article_page(article, parity, errata), encoding="utf-8"
        )
    setup = json.loads(SETUP.read_text()) if SETUP.exists() else None
    (src / "setup.md").write_text(setup_page(setup), encoding="utf-8")
    perf = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    (src / "performance.md").write_text(_site_links(perf), encoding="utf-8")
    for page in USER_PAGES:  # docs/*.md written for users, as they are
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        (src / page).write_text(_site_links(text), encoding="utf-8")
    kit = ROOT / "docs" / "kit.md"
    if kit.exists():
        (src / "kit.md").write_text(_site_links(kit.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        (src / "kit.md").write_text(KIT_FALLBACK, encoding="utf-8")
    env = {**os.environ, "REF_CNN_ROOT": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(src), str(html)],
        check=True, env=env,
    )  # fmt: skip
    return html / "index.html"


SITE_NAMES = {"README.md": "index.md", "BENCHMARKS.md": "performance.md"}


def _site_links(text: str) -> str:
    """Relative links between repository files as they read on the site: a page the site
    has links to that page (README.md is the index); any other file becomes its name in code,
    since the site holds no such page."""
    pages = {*USER_PAGES, *SITE_NAMES.values(), "kit.md", "setup.md", "api.md", "start.md",
             "av.md", "mb.md", "ic.md"}  # fmt: skip

    def sub(m):
        label, target = m.group(1), m.group(2)
        if re.match(r"[a-z]+:|#", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        name = SITE_NAMES.get(Path(path).name, Path(path).name)
        if name in pages:
            return f"[{label}]({name}{'#' + anchor if anchor else ''})"
        return label if label.startswith("`") else f"{label} (`{path}`)"

    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", sub, text)


USER_PAGES = (
    *("install.md", "report.md", "package.md", "training.md", "testing.md", "API.md"),
    *("graph_twin.md", "zoo.md", "shared_randomness.md", "peers.md"),
    *("activations.md", "normalization.md", "spatial.md", "design.md"),
)
KIT_FALLBACK = """# The conformance kit

`python -m ref_cnn check MODULE:FUNCTION --op OP` runs every parity case of one op against
your function and prints a table and the first failing case in full;
`ref_cnn.testing.assert_conforms` does the same inside your own tests.
`python -m ref_cnn check --help` lists the ops and options.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs")
    parser.add_argument("--parity", type=Path, default=PARITY, help="default reports/parity.json")
    parser.add_argument(
        "--readme", action="store_true", help="rewrite README.md's and docs/'s generated blocks"
    )
    parser.add_argument("--benchmarks", action="store_true", help="rewrite BENCHMARKS.md's blocks")
    args = parser.parse_args(argv)
    from ref_cnn._io import write_atomic

    if args.readme or args.benchmarks:
        pages = [(ROOT / "README.md", args.readme and readme_blocks()),
                 (ROOT / "BENCHMARKS.md", args.benchmarks and benchmarks_blocks())]  # fmt: skip
        pages += [(path, args.readme and blocks) for path, blocks in docs_blocks().items()]
        for path, blocks in pages:
            if blocks:
                write_atomic(path, replace_blocks(path.read_text(encoding="utf-8"), blocks))
                print(f"wrote {path}")
        return 0
    index = build(args.out, args.parity)
    print(f"built {index}")
    return 0


def benchmarks_blocks() -> dict[str, str]:
    """BENCHMARKS.md's generated blocks: one per run in docs/bench_runs/."""
    return {"bench-targets": performance_summary(),
            **{f"bench-{name}": bench_tables(name) for name in bench_runs()}}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
