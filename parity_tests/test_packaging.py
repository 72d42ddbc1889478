"""Packaging: ref_cnn imports and computes with numpy and scipy alone, a module that needs an
absent extra says which one to install, and the version is written in one place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "torchvision", "matplotlib", "tqdm", "mlxtend", "threadpoolctl", "hypothesis")


def _run_without_optional(code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter where every optional package fails to import."""
    block = f"import sys\nfor m in {OPTIONAL!r}: sys.modules[m] = None\n"
    return subprocess.run(
        [sys.executable, "-c", block + code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_core_imports_and_computes_without_any_extra():
    proc = _run_without_optional(
        "import numpy as np, ref_cnn\n"
        "from ref_cnn import functional as F, nn, literal, augment\nfrom ref_cnn.training import optim, models\n"
        "x = np.ones((1, 1, 4, 4)); w = np.ones((1, 1, 3, 3))\n"
        "assert F.conv2d(x, w).sum() == 36.0\n"
        "net = models.build('lenet')\n"
        "assert net.forward(np.zeros((2, 1, 28, 28))).shape == (2, 10)\n"
        "print('ok', ref_cnn.__version__)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok ")


@pytest.mark.parametrize(
    ("call", "extra"),
    [
        pytest.param("ref_cnn.from_torch(object())", "torch", id="from_torch"),
        pytest.param("ref_cnn.to_torch(None, None)", "torch", id="to_torch"),
        pytest.param("models.torch_twin('lenet')", "torch", id="torch_twin"),
        pytest.param("data.mnist_subset()", "train", id="mnist_subset"),
        pytest.param("data.torchvision_dataset('mnist', '/nonexistent')", "torch", id="datasets"),
    ],
)
def test_missing_extra_is_named_with_the_command_that_installs_it(call, extra):
    proc = _run_without_optional(
        "import ref_cnn\nfrom ref_cnn.training import data, models\n"
        f"try:\n    {call}\nexcept ImportError as e:\n    print(e)\nelse:\n    print('no error')\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert f'pip install "ref_cnn[{extra}]"' in proc.stdout, proc.stdout


def test_version_is_written_once():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ref_cnn.__version__"}
    import ref_cnn

    assert ref_cnn.__version__.count(".") == 2


def test_core_dependencies_are_numpy_scipy_and_threadpoolctl_only():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = sorted(
        d.split(">")[0].split("=")[0].split("<")[0] for d in meta["project"]["dependencies"]
    )
    assert names == ["numpy", "scipy", "threadpoolctl"]
    assert (ROOT / "ref_cnn" / "py.typed").exists() and (ROOT / "LICENSE").exists()


def test_report_names_a_missing_package_and_the_command_that_installs_it():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runpy\nsys.modules['hypothesis'] = None\nsys.argv = ['parity_report.py']\n"
            "runpy.run_path('scripts/parity_report.py', run_name='__main__')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "the parity report needs " in proc.stderr and "hypothesis (" in proc.stderr
    assert 'pip install -e ".[dev]"' in proc.stderr and "bash scripts/dev.sh report" in proc.stderr


def test_report_names_the_test_file_that_does_not_import(tmp_path, capsys):
    from ref_cnn.report.collect import run_suite

    (tmp_path / "test_broken.py").write_text("import not_a_module_of_ref_cnn\n", encoding="utf-8")
    (tmp_path / "test_typo.py").write_text("def test_x(:\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        run_suite(tmp_path)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "test_broken.py: ModuleNotFoundError: No module named 'not_a_module_of_ref_cnn'" in err
    assert 'fix: pip install "ref_cnn[dev]"' in err
    assert "test_typo.py: SyntaxError" in err
    assert re.search(r"python -m pytest --collect-only \S*test_typo\.py", err), err


@pytest.mark.torch
def test_from_torch_needs_torch_only():
    """torchvision is optional for from_torch: its blocks are converted only where it imports
    (torch 2.13's CPU wheel has no torchvision that imports beside it)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nsys.modules['torchvision'] = None\nimport numpy as np, torch, ref_cnn\n"
            "m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU()).double()\n"
            "x = np.random.default_rng(0).standard_normal((1, 1, 5, 5))\n"
            "y = ref_cnn.from_torch(m).forward(x)\n"
            "assert np.allclose(y, m(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=1e-12)\n"
            "print('ok')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def _installed_copy(tmp_path: Path) -> tuple[Path, dict]:
    """ref_cnn's package folder alone in a site folder (what a wheel installs), a working
    folder outside any clone, and the environment that imports the copy."""
    import shutil

    import ref_cnn

    site, work = tmp_path / "site", tmp_path / "work"
    shutil.copytree(
        Path(ref_cnn.__file__).parent,
        site / "ref_cnn",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    work.mkdir()
    return work, {**os.environ, "PYTHONPATH": str(site)}


def test_docs_and_explain_work_in_an_installed_package(tmp_path):
    work, env = _installed_copy(tmp_path)
    run = dict(cwd=work, env=env, capture_output=True, text=True, timeout=120)
    docs = subprocess.run([sys.executable, "-m", "ref_cnn", "docs"], **run)
    assert docs.returncode == 0, docs.stderr
    page = (work / "equations.md").read_text(encoding="utf-8")
    assert "### AV-14: Filter gradient" in page and "test_conv.py::" in page
    explain = subprocess.run([sys.executable, "-m", "ref_cnn", "explain", "AV-14"], **run)
    assert explain.returncode == 0, explain.stderr
    assert "not in the installed package" in explain.stdout and "Traceback" not in explain.stderr
    assert str(tmp_path / "site" / "reports") not in explain.stdout


def test_the_shipped_test_ids_are_package_data():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "equation_tests.json" in meta["tool"]["setuptools"]["package-data"]["ref_cnn"]


@pytest.mark.dev
def test_the_shipped_test_ids_are_current():
    from ref_cnn.report.docs import SHIPPED, shipped_json, tests_by_id

    assert SHIPPED.read_text(encoding="utf-8") == shipped_json(tests_by_id()), (
        "ref_cnn/equation_tests.json is stale: run `python -m ref_cnn docs`"
    )


def test_classifiers_name_the_python_versions_ci_tests():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = {
        c.rsplit(" :: ", 1)[1]
        for c in meta["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    in_ci = set(re.search(r"^for minor in ([\d. ]+); do$", ci, re.M).group(1).split())
    oldest = re.fullmatch(r">=(3\.\d+)", meta["project"]["requires-python"]).group(1)
    assert listed == in_ci | {oldest}, (listed, in_ci, oldest)
