"""Helpers for testing an op's registered alternatives (`ref_cnn._fast.backend`) against its
readable body: one pytest param per (op, set) row, a function run under one set, and a spy
that proves the row ran."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from ref_cnn._fast import backend
from ref_cnn._metric import compare


def rows(*ops: str) -> list:
    """pytest params (op, set) for every row of `ops` in IMPLEMENTATIONS; "numba" rows carry
    the `numba` marker (deselected where numba is absent)."""
    return [
        pytest.param(
            op, name, id=f"{op}-{name}", marks=[pytest.mark.numba] if name == "numba" else []
        )
        for op in ops
        for name in backend.IMPLEMENTATIONS[op]
    ]


def under(name: str, fn):
    """`fn` computed with the backend set `name` (`backend.using`)."""

    def run(*args, **kw):
        with backend.using(name):
            return fn(*args, **kw)

    return run


def spy(monkeypatch, op: str, name: str) -> dict:
    """Count the calls of `op`'s row for set `name`; {"calls": n}."""
    module, _, attr = backend.IMPLEMENTATIONS[op][name].partition(":")
    mod = importlib.import_module(module)
    original, seen = getattr(mod, attr), {"calls": 0}

    def counted(*args, **kwargs):
        seen["calls"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(mod, attr, counted)
    return seen


def readable_and_alternative(monkeypatch, op: str, name: str, call):
    """(call() on the readable body, call() under set `name`), asserting that `op`'s row ran
    exactly once under `name` and not at all under "readable"."""
    seen = spy(monkeypatch, op, name)
    with backend.using("readable"):
        readable = call()
    assert seen["calls"] == 0, f"{op}: the readable set ran the {name} row"
    with backend.using(name):
        fast = call()
    assert seen["calls"] == 1, f"{op}: the {name} set did not run its row"
    return readable, fast


def assert_close(quantity: str, ours, readable, rtol: float) -> float:
    """Same dtype, shape and NaN/±∞ places, and max |ours − readable| ≤ rtol·max |readable|;
    returns the relative error."""
    ours, readable = np.asarray(ours), np.asarray(readable)
    assert ours.dtype == readable.dtype and ours.shape == readable.shape, quantity
    c = compare(ours, readable)
    assert c.ok(rtol), f"{c.describe(quantity, 'the readable body')}; bound {rtol:.0e}"
    return c.rel_err
