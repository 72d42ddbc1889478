"""Every public class, function and method of ref_cnn has a docstring; none points outside
the repository; the doctest collection skips exactly the modules that need torch to import."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ref_cnn

PACKAGE = Path(ref_cnn.__file__).resolve().parent
OPTIONAL = ("torch", "torchvision", "matplotlib", "tqdm", "mlxtend", "hypothesis", "jax", "numba")


def _public_modules():
    for info in pkgutil.walk_packages(ref_cnn.__path__, "ref_cnn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield info.name


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = [] if (module.__doc__ or "").strip() else [module_name]
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not (obj.__doc__ or "").strip():  # a class's own docstring, not its base's
            missing.append(f"{module_name}.{name}")
        if not inspect.isclass(obj):
            continue
        fields = (
            {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
        )
        for attr, value in vars(obj).items():
            if attr.startswith("_") or attr in fields:
                continue
            if isinstance(value, property):
                doc = value.__doc__
            elif inspect.isfunction(value):
                doc = inspect.getdoc(getattr(obj, attr))  # an override may share its base's
            else:
                continue
            if not (doc or "").strip():
                missing.append(f"{module_name}.{name}.{attr}")
    return missing


@pytest.mark.parametrize("module_name", list(_public_modules()))
def test_public_api_has_docstrings(module_name):
    pytest.importorskip(module_name)  # torch_builders without torch
    assert _undocumented(module_name) == []


def test_no_docstring_points_outside_the_repository():
    hits = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "../shared" in path.read_text(encoding="utf-8")
    ]
    assert hits == []


def test_doctest_skips_exactly_the_modules_that_need_an_optional_package():
    """Import every ref_cnn module with the optional packages blocked: those that fail are
    the ones the repository's conftest.py leaves out of the doctest collection."""
    code = f"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
import ref_cnn
for info in pkgutil.walk_packages(ref_cnn.__path__, "ref_cnn."):
    if info.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(info.name)
    except ImportError:
        print(info.name.replace(".", "/") + ".py")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert out.returncode == 0, out.stderr[-2000:]
    root_conftest = PACKAGE.parent / "conftest.py"
    if not root_conftest.exists():
        pytest.skip("ref_cnn is installed outside its repository (no conftest.py beside it)")
    source = root_conftest.read_text(encoding="utf-8")
    assert sorted(out.stdout.split()) == sorted(
        line.split('"')[1] for line in source.splitlines() if line.strip().startswith('"ref_cnn/')
    )
