"""docs/equations.md is generated from the catalogue and the tests, and is up to date."""

from __future__ import annotations

import pytest

from ref_cnn.report.docs import DOC, equations_markdown
from ref_cnn.report.docs import tests_by_id as collect_ids


@pytest.mark.dev
def test_equations_doc_is_current():
    expected = equations_markdown(collect_ids())
    assert DOC.exists(), "docs/equations.md is missing: run `python -m ref_cnn docs`"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/equations.md is stale: run `python -m ref_cnn docs`"
    )
