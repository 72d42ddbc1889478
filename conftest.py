"""Doctest collection (`--doctest-modules`, see pyproject.toml): every module of `ref_cnn`
is imported to find its `>>>` examples, except those that need an optional package at
import time where that package does not import (the numpy-only install has neither torch
nor torchvision). `parity_tests/test_docstrings.py` checks that this list is complete.
"""

from __future__ import annotations

import importlib

# module → the optional packages it imports at import time
NEEDS = {
    "ref_cnn/nn/torch_builders.py": ("torch",),
    "ref_cnn/nn/graph_glue.py": ("torch",),
    "ref_cnn/_fast/conv_numba.py": ("numba",),
    "ref_cnn/_fast/passes_numba.py": ("numba",),
}


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception:  # ImportError, or a RuntimeError from a torchvision built for another torch
        return False
    return True


_OK = {p: _imports(p) for p in {p for needs in NEEDS.values() for p in needs}}
collect_ignore = [path for path, needs in NEEDS.items() if not all(_OK[p] for p in needs)]
