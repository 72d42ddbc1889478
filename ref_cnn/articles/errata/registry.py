"""All demonstrations, in article order."""

from __future__ import annotations

from ref_cnn.articles.errata import av, av_derivation, ic, mb, mb_layer

DEMOS = [*av.DEMOS, *av_derivation.DEMOS, *mb.DEMOS, *mb_layer.DEMOS, *ic.DEMOS]
CHECKED_CORRECT = [
    *av.CHECKED_CORRECT,
    *av_derivation.CHECKED_CORRECT,
    *mb.CHECKED_CORRECT,
    *mb_layer.CHECKED_CORRECT,
    *ic.CHECKED_CORRECT,
]


def run_all(progress=None) -> list[dict]:
    """Run every demonstration; return their records as dicts."""
    out = []
    for demo in DEMOS:
        out.append(demo().to_dict())
        if progress is not None:
            progress.update(1)
    return out
