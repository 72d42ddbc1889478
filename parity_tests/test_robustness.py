"""Robustness: a sweep of malformed arguments, NaN/inf/empty batches like torch, and a
training process killed in the middle of writing a checkpoint. (The property-based parity
tests live in test_properties.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import n, optional, t

from ref_cnn import functional as F
from ref_cnn.training import models, optim
from ref_cnn.training.train import load_checkpoint

torch = optional("torch")
tf = optional("torch.nn.functional")

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.engineering  # robustness of the machinery, no equation


X = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
W = np.random.default_rng(1).standard_normal((4, 3, 3, 3))
BAD_VALUES = {
    "None": None,
    "list": [[1.0, 2.0]],
    "string": "abc",
    "int": 3,
    "object-array": np.array([object()] * 4),
    "complex": np.ones((2, 3, 6, 6), dtype=complex),
    "bool-array": np.ones((2, 3, 6, 6), dtype=bool),
    "0-d": np.array(1.0),
}
CALLS = {
    "conv2d-x": lambda v: F.conv2d(v, W),
    "conv2d-w": lambda v: F.conv2d(X, v),
    "conv2d-b": lambda v: F.conv2d(X, W, v),
    "conv2d-stride": lambda v: F.conv2d(X, W, stride=v),
    "conv2d-padding": lambda v: F.conv2d(X, W, padding=v),
    "conv2d-groups": lambda v: F.conv2d(X, W, groups=v),
    "conv2d_backward-dy": lambda v: F.conv2d_backward(v, X, W),
    "max_pool2d-x": lambda v: F.max_pool2d(v, 2),
    "max_pool2d-kernel": lambda v: F.max_pool2d(X, v),
    "max_pool2d-ceil": lambda v: F.max_pool2d(X, 2, ceil_mode=v),
    "avg_pool2d-x": lambda v: F.avg_pool2d(v, 2),
    "avg_pool2d_backward-dy": lambda v: F.avg_pool2d_backward(v, X, 2),
    "linear-x": lambda v: F.linear(v, W[0, 0]),
    "linear-w": lambda v: F.linear(X[0, 0], v),
    "correlate2d-a": lambda v: F.correlate2d(v, W[0, 0]),
    "correlate2d-mode": lambda v: F.correlate2d(X[0, 0], W[0, 0], v),
    "sigmoid": lambda v: F.sigmoid(v),
    "softmax": lambda v: F.softmax(v),
    "cross_entropy-target": lambda v: F.cross_entropy(X[0, 0], v),
    "im2col-x": lambda v: F.im2col(v, 2),
}


@pytest.mark.parametrize("value", list(BAD_VALUES), ids=list(BAD_VALUES))
@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_malformed_argument_is_refused_clearly(call, value):
    """Every public call either works or raises ValueError/TypeError; nothing else escapes."""
    try:
        out = CALLS[call](BAD_VALUES[value])
    except (ValueError, TypeError) as exc:
        assert str(exc), "the error must say what is wrong"
        return
    assert isinstance(
        out, np.ndarray | tuple
    )  # accepted (e.g. an int stride), so it must be a result


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        pytest.param(
            lambda x: F.conv2d(x, W, padding=1),
            lambda x: tf.conv2d(x, t(W), padding=1),
            id="conv2d",
        ),
        pytest.param(lambda x: F.max_pool2d(x, 2), lambda x: tf.max_pool2d(x, 2), id="max_pool2d"),
        pytest.param(
            lambda x: F.avg_pool2d(x, 3, 1, 1), lambda x: tf.avg_pool2d(x, 3, 1, 1), id="avg_pool2d"
        ),
        pytest.param(lambda x: F.relu(x), torch.relu, id="relu"),
    ],
)
@pytest.mark.parametrize("special", ["nan", "inf", "-inf", "empty-batch"])
@pytest.mark.torch
def test_nan_inf_and_empty_batches_behave_like_torch(ours, theirs, special):
    x = X.copy()
    if special == "empty-batch":
        x = x[:0]
    else:
        x[0, 1, 2, 3] = float(special)
    mine, ref = ours(x), n(theirs(t(x)))
    assert mine.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(mine), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(mine[finite], ref[finite], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: F.conv2d(X, W, stride=10**9), id="huge-stride"),
        pytest.param(lambda: F.max_pool2d(X, 2, stride=10**9), id="pool-huge-stride"),
    ],
)
def test_huge_strides_give_one_window_like_torch(call):
    assert call().shape[-2:] == (1, 1)


def test_huge_padding_is_refused_before_allocating():
    with pytest.raises(ValueError, match="elements"):
        F.conv2d(X, W, padding=10**6)


# ---------------------------------------------------------------- killed mid-checkpoint


@pytest.mark.train
def test_training_killed_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path):
    """Epoch 1 runs normally; the resumed run is killed (SIGKILL) after writing epoch 2's
    checkpoint to its temporary file but before the rename: checkpoint.npz is still epoch 1."""
    out = tmp_path / "run"
    base = [
        sys.executable,
        "-m",
        "ref_cnn",
        "train",
        "--model",
        "lenet",
        "--limit",
        "256",
        "--out",
        str(out),
        "--no-progress",
    ]
    subprocess.run([*base, "--epochs", "1"], cwd=ROOT, check=True, capture_output=True, timeout=300)
    checkpoint = out / "checkpoint.npz"
    before = checkpoint.read_bytes()
    env = dict(os.environ, REF_CNN_PAUSE_BEFORE_RENAME="60")
    proc = subprocess.Popen(
        [*base, "--epochs", "3", "--resume", str(checkpoint)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        while not list(out.glob(".checkpoint.npz.*.tmp")):
            assert proc.poll() is None, "training ended before writing its next checkpoint"
            assert time.time() < deadline, "no checkpoint write started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert checkpoint.read_bytes() == before  # untouched: the half-done write never replaced it
    model = models.build("lenet")
    meta, state = load_checkpoint(checkpoint, model, optim.SGD(model, lr=0.05, momentum=0.9))
    assert state.epoch == 1
    # and the run resumes from it
    done = subprocess.run(
        [*base, "--epochs", "2", "--resume", str(checkpoint)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "epoch 2: loss" in done.stdout
