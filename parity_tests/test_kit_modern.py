"""The kit's cases for the ops of modern CNNs (ref_cnn/conformance/cases_modern.py): torch's
own functions pass them, ref_cnn's pass them, one planted bug per family fails them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import broken_impls
import numpy as np
import pytest
from helpers import optional

from ref_cnn import conformance
from ref_cnn import functional as F
from ref_cnn.conformance.ops_modern import MODERN_OPS
from ref_cnn.testing import assert_conforms

torch = optional("torch")

HERE = Path(__file__).parent
ROOT = HERE.parent
NEW_OPS = [op.name for op in MODERN_OPS]
RANDOM = ("dropout", "dropout2d", "stochastic_depth")
DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]


def _torch_op(name):
    if name == "stochastic_depth":
        return pytest.importorskip("torchvision").ops.stochastic_depth
    return getattr(torch.nn.functional, name)


# ------------------------------------------------------------------------- torch's own ops


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", [n for n in NEW_OPS if n not in ("hardsigmoid", *RANDOM)])
@pytest.mark.torch
def test_torch_functional_passes_every_case(op, dtype):
    results = assert_conforms(_torch_op(op), op, dtype=dtype)
    assert results.about["framework"] == "torch"
    assert all(r.status == "ok" and not r.unchecked for r in results)


@pytest.mark.torch
def test_torch_hardsigmoid_is_off_only_by_its_float32_one_sixth_in_float64():
    """torch's float64 backward multiplies by 1.0f/6.0f: every dx is 3.0e-8 off, y is exact;
    in float32 it passes."""
    assert_conforms(torch.nn.functional.hardsigmoid, "hardsigmoid", dtype=np.float32)
    results = conformance.check(torch.nn.functional.hardsigmoid, "hardsigmoid")
    assert len(results.failed) == len(results)
    constant = abs(float(np.float32(1 / 6)) * 6 - 1)  # 2.98e-8
    for r in results:
        assert r.detail.startswith("dx: ") and r.worst_rel == pytest.approx(constant, rel=1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "op",
    ["dropout", "dropout2d", pytest.param("stochastic_depth", marks=pytest.mark.torchvision)],
)
@pytest.mark.torch
def test_torch_dropouts_pass_what_draws_nothing_and_skip_the_masked_cases(op, dtype):
    results = assert_conforms(_torch_op(op), op, dtype=dtype)
    spec = conformance.OPS[op]
    drawn = [c["id"] for c in spec.cases if spec.mask_needed(c["kw"])]
    assert drawn and {r.id for r in results if r.status == "skip"} == set(drawn)
    skipped = next(r for r in results if r.status == "skip")
    assert "takes no mask= argument" in skipped.detail


def torch_dropout_with_mask(x, p=0.5, training=True, inplace=False, mask=None):
    """A torch target that takes the keep-mask: every case runs, the masked ones too."""
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0
    return x * mask.to(x.dtype) / (1 - p)


@pytest.mark.torch
def test_a_torch_target_taking_the_mask_gets_it_as_a_tensor():
    results = assert_conforms(torch_dropout_with_mask, "dropout", framework="torch")
    assert all(r.status == "ok" for r in results)


# ------------------------------------------------------------------------ ref_cnn's own ops


def _own(name):
    return getattr(F, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", NEW_OPS)
def test_ref_cnn_passes_forward_and_backward(op, dtype):
    assert_conforms(_own(op), op, dtype=dtype)
    assert_conforms(_own(f"{op}_backward"), f"{op}_backward", dtype=dtype)


def test_a_numpy_target_without_mask_skips_only_the_random_cases():
    def plain(x, p=0.5, training=True, inplace=False):
        return F.dropout(x, p, training, inplace, mask=np.ones(x.shape, bool))

    results = assert_conforms(plain, "dropout")
    assert [r.status for r in results] == ["skip", "skip", "skip", "ok", "ok", "ok"]


def test_nhwc_lp_pool_and_a_missing_norm_weight_not_checked():
    def nhwc(x, norm_type, kernel_size, stride=None, ceil_mode=False):
        y = F.lp_pool2d(np.moveaxis(x, -1, -3), norm_type, kernel_size, stride, ceil_mode)
        return np.moveaxis(y, -3, -1)

    assert_conforms(nhwc, "lp_pool2d", layout="nhwc")
    with pytest.raises(ValueError, match="options name NCHW axes"):
        conformance.check(F.group_norm, "group_norm", layout="nhwc")
    results = assert_conforms(F.group_norm_backward, "group_norm_backward", cases="no-affine")
    assert results[0].unchecked == ()  # no weight given: dweight and dbias are not outputs


def test_the_cases_reach_kinks_thresholds_groups_and_tiles():
    cases = {op: {c["id"]: c for c in conformance.OPS[op].cases} for op in NEW_OPS}
    assert {-3.0, 3.0} <= set(cases["hardswish"]["kinks"]["points"])
    assert {0.0, 6.0} <= set(cases["relu6"]["kinks"]["points"])
    assert 20.0 in cases["softplus"]["kinks"]["points"]
    groups = [(c["x"][1], c["kw"]["num_groups"]) for c in cases["group_norm"].values()]
    assert any(g == 1 for _, g in groups)
    assert any(c == g for c, g in groups) and any(c % 2 and c > 64 for c, _ in groups)
    for op in NEW_OPS:
        assert any(i.startswith("tile-") for i in cases[op]), op
    align = [c["kw"].get("align_corners") for c in cases["interpolate"].values()]
    assert True in align and False in align


# ---------------------------------------------------------------------- planted bugs fail

BUGS = [
    (broken_impls.hardswish_backward_wrong_side_at_3, "hardswish_backward", "dx", None),
    (broken_impls.group_norm_unbiased_variance, "group_norm", "y", None),
    (broken_impls.interpolate_align_corners_off_by_one, "interpolate", "y", "-align"),
    (broken_impls.dropout_backward_unscaled, "dropout_backward", "dx", "-mask"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("fn", "op", "output", "only"),
    BUGS,
    ids=[
        "hardswish-side-at-3",
        "group-norm-unbiased",
        "align-corners-off-by-one",
        "dropout-unscaled",
    ],
)
def test_one_planted_bug_per_family_fails(fn, op, output, only, dtype):
    results = conformance.check(fn, op, dtype=dtype)
    assert results.failed, f"{fn.__name__} passes the kit"
    for r in results.failed:
        assert r.detail.startswith(f"{output}: ") and r.worst_rel > 10 * r.bound
        assert only is None or only in r.id
    with pytest.raises(AssertionError, match="first failing case"):
        assert_conforms(fn, op, dtype=dtype)


def test_cli_lists_and_checks_a_new_op():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "ref_cnn", "check", *args],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    listed = cli("--op", "softplus", "--list-cases")
    assert listed.returncode == 0 and "beta-2-threshold-at-x-10" in listed.stdout
    done = cli("broken_impls:hardswish_backward_wrong_side_at_3", "--op", "hardswish_backward")
    assert done.returncode == 1 and "0/4 cases pass" in done.stdout, done.stdout + done.stderr


def test_save_keeps_case_names_with_dots_apart(tmp_path):
    """p-0.5-mask and p-0.9-mask: two reproducers (a dot is not a file suffix here)."""
    bug = broken_impls.dropout_backward_unscaled
    conformance.check(bug, "dropout_backward", cases="mask", save=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "dropout_backward-p-0.5-mask.npz" in names and "dropout_backward-p-0.9-mask.py" in names
    assert len(names) == 6  # three failing cases, an npz and a script each
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    done = subprocess.run(
        [sys.executable, str(tmp_path / "dropout_backward-p-0.9-mask.py")],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and "dx: FAIL" in done.stdout, done.stdout + done.stderr


def test_a_3d_norm_input_is_not_called_unbatched():
    """group_norm's 3-D x is (N, C, L): a 4-D-only target gets the options hint, not the
    unbatched-image one that conv targets get."""

    def four_d_only(x, num_groups, weight=None, bias=None, eps=1e-5):
        n, c, h, w = x.shape
        return F.group_norm(x, num_groups, weight, bias, eps)

    results = conformance.check(four_d_only, "group_norm")
    (failed,) = results.failed
    assert failed.id == "3d-ncl-eps-1e-3" and "unbatched" not in failed.hint
    assert "NotImplementedError" in failed.hint
