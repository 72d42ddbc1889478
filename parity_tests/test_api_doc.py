"""docs/API.md documents every public function, with the parameters the code has."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

import ref_cnn
import ref_cnn.functional as F

API = Path(__file__).resolve().parents[1] / "docs" / "API.md"


def _public_functions():
    for module, names in ((F, F.__all__), (ref_cnn, ref_cnn.__all__)):
        for name in names:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, types.ModuleType | type):
                yield pytest.param(obj, id=f"{module.__name__}.{name}")


def _documented_parameters(text: str, name: str) -> list[list[str]]:
    """The parameter names of every `name(...)` written in the document."""
    found = []
    for args in re.findall(rf"(?<!\w){re.escape(name)}\(([^()]*)\)", text):
        params = [a.split("=")[0].strip() for a in args.split(",") if a.strip()]
        found.append([p for p in params if p not in ("*", "...")])
    return found


@pytest.mark.parametrize("fn", list(_public_functions()))
def test_public_function_is_documented(fn):
    text = API.read_text(encoding="utf-8")
    expected = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind != p.VAR_KEYWORD and not p.name.startswith("_")  # private: not the contract
    ]
    written = _documented_parameters(text, fn.__name__)
    assert written, f"docs/API.md does not document {fn.__name__}: add its signature"
    assert expected in written, (
        f"docs/API.md writes {fn.__name__} with parameters {written}, the code has {expected}"
    )
