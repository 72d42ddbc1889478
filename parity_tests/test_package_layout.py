"""The package's layout: one module per name, and op modules that do not reach into each
other for their constants."""

from __future__ import annotations

from pathlib import Path

import ref_cnn

PACKAGE = Path(ref_cnn.__file__).resolve().parent


def test_one_module_named_init():
    """One module named init.py in the package (the functional initialisers and the layers'
    initialise() must not share a name)."""
    found = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("init.py"))
    assert len(found) <= 1, found


def test_pool_does_not_import_its_limit_from_conv():
    source = (PACKAGE / "functional" / "pool.py").read_text(encoding="utf-8")
    assert "from ref_cnn.functional.conv import" not in source
