"""The parity report: every equation, its functions, witnesses and measured errors, the
articles' errata, and figures; written as parity.json, parity.md and parity.html.

parity.json schema (stable; new keys may be added, none removed):

    summary     {equations, verified, failed, not_verified, tests_run, tests_failed,
                 failed_tests (node IDs)}
    equations   [{id, status ("pass" | "fail" | "not verified"), article, what, statement,
                  reference, functions [...], witnesses [...], cases, tests [...],
                  max_abs_error {"<quantity> <dtype> vs <witness>": float},
                  max_rel_error {same keys}, pending (str | null), failed_tests [...]}]
    errata      [{id, article, where, wrong, correct, effect, measured {...}, demo}]
    checked_correct [str]
    trajectory  {setting, steps, ours [...], torch [...], max_rel_difference}
    records     [{quantity, witness, dtype, abs, rel, family, test}]  (every measurement)
    ops         the ops beyond the articles (ACT-n, NRM-n, SPA-n), counted apart:
                {summary {equations, verified, failed, not_verified, families}, equations [...]}
"""

from __future__ import annotations

import json
from pathlib import Path

from ref_cnn._io import write_atomic
from ref_cnn.report.collect import run_suite, summarise
from ref_cnn.report.render import summary_line, to_html, to_markdown

TESTS_DIR = Path(__file__).resolve().parents[2] / "parity_tests"


def av_trajectory(steps: int = 100) -> dict:
    """The faithful AV run (standardised Z2) in ref_cnn and in torch, from one start."""
    import numpy as np

    from ref_cnn.articles import av_experiment as ex
    from ref_cnn.training.data import av_binary

    x, y = av_binary(200, seed=0)
    f, w = ex.initial_params(seed=0)
    ours = ex.train_numpy(x, y, f, w, steps, ex.DEFAULT_LR["standardized"], True)
    ref = ex.train_torch(x, y, f, w, steps, ex.DEFAULT_LR["standardized"], True)
    a, b = np.array(ours.losses), np.array(ref.losses)
    return {
        "setting": "standardized (the article's standardisation of Z2, differentiated)",
        "steps": steps,
        "ours": ours.losses,
        "torch": ref.losses,
        "max_rel_difference": float(np.max(np.abs(a - b) / np.abs(b))),
        "accuracy": ours.accuracy,
        "_filters": (f, ours.f),
    }


# the slowest demonstrations (tens of seconds: whole AV training runs), which --quick lists
# with their text but does not run
SLOW_ERRATA = (
    "ref_cnn.articles.errata.av.standardization_not_differentiated",
    "ref_cnn.articles.errata.av_derivation.filter_gradient_is_a_correlation",
)
NOT_RUN = "not measured"


def run_errata(quick: bool = False) -> list[dict]:
    """Every erratum's record; with `quick`, SLOW_ERRATA's text only, marked NOT_RUN."""
    from ref_cnn.articles.errata.registry import DEMOS
    from ref_cnn.equations.explain import errata_texts

    texts = {r["demo"]: r for r in errata_texts().values()}
    out = []
    for demo in DEMOS:
        name = f"{demo.__module__}.{demo.__name__}"
        if quick and name in SLOW_ERRATA:
            note = "--quick does not run this demonstration (tens of seconds); the full report does"
            out.append({**texts[name], "measured": {NOT_RUN: note}})
        else:
            out.append(demo().to_dict())
    return out


def build(out: Path, quick: bool = False, progress=None, tests_dir: Path = TESTS_DIR) -> dict:
    """Run everything and write parity.json, parity.md and parity.html into `out`."""
    from ref_cnn.articles import errata
    from ref_cnn.report import ops, plots

    results = run_suite(tests_dir, quick, progress)
    report = summarise(results)
    report["ops"] = ops.summarise_ops(results)
    report["errata"] = run_errata(quick)
    report["checked_correct"] = errata.CHECKED_CORRECT
    traj = av_trajectory(30 if quick else 100)
    f_start, f_end = traj.pop("_filters")
    report["trajectory"] = traj
    figures = {
        "errors": (
            "Relative error against torch, every forward output and gradient, per op family",
            plots.error_distribution(report["records"]),
        ),
        "trajectory": (
            f"AV training: ref_cnn and torch from the same start ({traj['setting']}); max relative difference {traj['max_rel_difference']:.1e}",
            plots.trajectory(traj["ours"], traj["torch"], "standardized Z2"),
        ),
        "filters": (
            "The three AV filters before and after training (ref_cnn)",
            plots.filters(f_start, f_end),
        ),
    }
    ordered = {
        k: report[k]
        for k in (
            "summary",
            "equations",
            "errata",
            "checked_correct",
            "trajectory",
            "records",
            "ops",
        )
    }
    write_atomic(
        out / "parity.json",
        json.dumps(ordered, indent=1, allow_nan=False, ensure_ascii=False) + "\n",
    )
    md = ops.insert_before(to_markdown(ordered), "\n## Errata", ops.ops_markdown(ordered["ops"]))
    write_atomic(out / "parity.md", md)
    page = ops.insert_before(
        to_html(ordered, figures), "<h2 id='errata'>", ops.ops_html(ordered["ops"])
    )
    write_atomic(out / "parity.html", page)
    return ordered


__all__ = ["build", "summary_line", "to_markdown", "to_html"]
