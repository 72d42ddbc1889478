"""The catalogue covers all 46 equation IDs, and every ID is cited and verified.

[AV-1 … IC-13: the catalogue itself]
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest
from helpers import resolve

from ref_cnn.equations.articles import BY_ID, EQUATIONS
from ref_cnn.equations.ops import BY_ID as OPS_BY_ID

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "EQUATIONS.md"


def test_catalogue_has_all_46_ids_once():
    ids = [e.id for e in EQUATIONS]
    assert len(ids) == len(set(ids)) == 46
    assert sum(i.startswith("AV-") for i in ids) == 15
    assert sum(i.startswith("MB-") for i in ids) == 18
    assert sum(i.startswith("IC-") for i in ids) == 13


@pytest.mark.skipif(
    not SHARED.exists(), reason="the team's EQUATIONS.md is not beside this checkout"
)
def test_catalogue_matches_the_shared_equation_table():
    shared = re.findall(r"^\| ((?:AV|MB|IC)-\d+) \|", SHARED.read_text(encoding="utf-8"), re.M)
    assert shared == [e.id for e in EQUATIONS]


@pytest.mark.dev
def test_every_verified_id_has_a_tagged_test(tests_by_id):
    missing = [e.id for e in EQUATIONS if e.pending is None and e.id not in tests_by_id]
    assert not missing, f"catalogued as verified but no test carries the marker: {missing}"


@pytest.mark.dev
def test_every_marker_names_a_catalogued_id(tests_by_id):
    unknown = sorted(set(tests_by_id) - set(BY_ID) - set(OPS_BY_ID))  # ops: test_ops_catalogue
    assert not unknown, f"tests cite IDs the catalogue does not have: {unknown}"


def test_pending_ids_are_listed_not_dropped():
    pending = {e.id for e in EQUATIONS if e.pending}
    assert pending <= {
        "AV-12",
        "AV-15",
        "MB-12",
        "MB-14",
        "MB-15",
        "MB-16",
        "MB-17",
        "MB-18",
        "IC-13",
    }


def test_every_implemented_id_is_cited_in_a_docstring_of_its_functions():
    """Each function the catalogue names exists, and one of them (or its module) cites the ID."""
    for e in EQUATIONS:
        if e.pending:
            continue
        assert e.functions, f"{e.id} has no implementing function"
        cited = False
        for name in e.functions:
            obj = resolve(name)
            if callable(obj):  # the function's docstring and its module's
                docs = (obj.__doc__ or "") + (sys.modules[obj.__module__].__doc__ or "")
            else:  # a constant: its module's docstring
                docs = importlib.import_module(name.rpartition(".")[0]).__doc__ or ""
            cited |= bool(re.search(rf"\b{re.escape(e.id)}\b", docs))
        assert cited, f"{e.id}: no docstring of {e.functions} cites it"
