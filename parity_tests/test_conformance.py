"""The conformance kit against planted bugs, torch targets, NHWC code and float32, and
`ref_cnn.testing.assert_conforms`."""

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
from ref_cnn.testing import assert_conforms

torch = optional("torch")

HERE = Path(__file__).parent
ROOT = HERE.parent


def _cli(*args):
    """`python -m ref_cnn check …` run from this folder, with this checkout's ref_cnn."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    return subprocess.run(
        [sys.executable, "-m", "ref_cnn", "check", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------ the NaN and one-ulp convs


@pytest.mark.torch
def test_cli_fails_the_nan_conv_naming_the_nan():
    done = _cli("broken_impls:conv2d_nan", "--op", "conv2d", "--dtype", "float32")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"0/{len(conformance.OPS['conv2d'].cases)} cases pass" in done.stdout
    assert "y: NaN at index (0, 0, 0, 0) where torch has" in done.stdout


def test_the_nan_conv_fails_in_float64_too():
    results = conformance.check(broken_impls.conv2d_nan, "conv2d")
    assert len(results.failed) == len(results)
    assert all(r.detail.startswith("y: NaN at index (0, 0, 0") for r in results)  # 3-D: unbatched


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_a_conv_one_ulp_off_everywhere_passes(dtype):
    results = assert_conforms(broken_impls.conv2d_one_ulp_off, "conv2d", dtype=dtype)
    assert len(results) == len(conformance.OPS["conv2d"].cases)
    assert all(r.worst_rel > 0 for r in results)  # it really is off


def test_float32_rule_still_catches_an_error_ten_times_torchs():
    def off_by_1e5(x, w, b=None, **kw):
        return F.conv2d(x, w, b, **kw) * np.float32(1 + 1e-5)

    with pytest.raises(AssertionError, match="y: largest error"):
        assert_conforms(off_by_1e5, "conv2d", dtype=np.float32)


# ------------------------------------------------------------------------------ torch targets


@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d", "linear"])
@pytest.mark.torch
def test_torch_functional_passes_with_every_gradient_checked(op):
    """F.linear takes weight (n, m) = wᵀ: the kit hands torch targets that convention."""
    results = assert_conforms(getattr(torch.nn.functional, op), op)
    assert results.about["framework"] == "torch"
    assert all(not r.unchecked for r in results)


@pytest.mark.torch
def test_cli_checks_torch_conv2d():
    done = _cli("torch.nn.functional:conv2d", "--op", "conv2d")
    assert done.returncode == 0, done.stdout + done.stderr
    n = len(conformance.OPS["conv2d"].cases)
    assert "(torch, float64, NCHW)" in done.stdout and f"{n}/{n} cases pass" in done.stdout


class _ConvWrongKernelGrad(torch.autograd.Function):
    """A custom autograd Function: right forward, kernel gradient with kH and kW swapped."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.options = (stride, padding, dilation, groups)
        return torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dx, dw, db = (
            torch.tensor(g)
            for g in F.conv2d_backward(dy.numpy(), x.numpy(), w.numpy(), *ctx.options)
        )
        return (
            dx,
            dw.transpose(2, 3) if dw.shape[2] == dw.shape[3] else dw,
            db,
            None,
            None,
            None,
            None,
        )


def custom_torch_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    if b is None:
        b = torch.zeros(w.shape[0], dtype=w.dtype)
    return _ConvWrongKernelGrad.apply(x, w, b, stride, padding, dilation, groups)


@pytest.mark.torch
def test_a_custom_autograd_function_is_detected_as_torch_and_its_bad_gradient_named():
    with pytest.raises(AssertionError) as info:
        assert_conforms(custom_torch_conv, "conv2d")
    text = str(info.value)
    assert "(torch, float64, NCHW)" in text
    assert "first failing case: MB-5-multichannel-cin3-cout4" in text
    assert "  dw: largest error" in text


@pytest.mark.torch
def test_torch_float32_kernels_pass_the_float32_rule():
    results = assert_conforms(torch.nn.functional.conv2d, "conv2d", dtype=np.float32)
    assert all(1e-8 < r.worst_rel < 1e-5 for r in results)


# ---------------------------------------------------------------------- NHWC, skips, None


def nhwc_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Channels-last code: x (N, H, W, C_in) or (H, W, C_in), w (kH, kW, C_in/groups, C_out)."""
    if x.ndim == 3:
        return nhwc_conv2d(x[None], w, b, stride, padding, dilation, groups)[0]
    y = F.conv2d(
        x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), b, stride, padding, dilation, groups
    )
    return y.transpose(0, 2, 3, 1)


def nhwc_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    if x.ndim == 3:
        dx, dw, db = nhwc_conv2d_backward(dy[None], x[None], w, stride, padding, dilation, groups)
        return dx[0], dw, db
    dx, dw, db = F.conv2d_backward(
        dy.transpose(0, 3, 1, 2),
        x.transpose(0, 3, 1, 2),
        w.transpose(3, 2, 0, 1),
        stride,
        padding,
        dilation,
        groups,
    )
    return dx.transpose(0, 2, 3, 1), dw.transpose(2, 3, 1, 0), db


def test_nhwc_code_passes_with_layout_nhwc_and_fails_without():
    assert_conforms(nhwc_conv2d, "conv2d", layout="nhwc")
    assert_conforms(nhwc_conv2d_backward, "conv2d_backward", layout="nhwc", dtype=np.float32)
    with pytest.raises(AssertionError, match="first failing case"):
        assert_conforms(nhwc_conv2d, "conv2d")


@pytest.mark.torch
def test_nchw_code_checked_as_nhwc_shows_the_shapes_it_was_given():
    with pytest.raises(AssertionError) as info:
        assert_conforms(torch.nn.functional.conv2d, "conv2d", layout="nhwc")
    text = str(info.value)
    assert "inputs: x (2, 3, 7, 6), w (4, 3, 3, 3)" in text
    assert (
        "as passed (NHWC): x (2, 7, 6, 3), w (3, 3, 3, 4), b (4,); indices below are NCHW" in text
    )


@pytest.mark.torch
def test_torch_target_in_nhwc():
    def torch_nhwc_pool(x, **kw):
        if x.ndim == 3:  # unbatched (H, W, C)
            return torch.nn.functional.max_pool2d(x.permute(2, 0, 1), **kw).permute(1, 2, 0)
        return torch.nn.functional.max_pool2d(x.permute(0, 3, 1, 2), **kw).permute(0, 2, 3, 1)

    results = assert_conforms(torch_nhwc_pool, "max_pool2d", layout="nhwc")
    assert results.about["framework"] == "torch"


def test_not_implemented_options_are_skipped_and_none_gradients_not_checked():
    def stride_one_only(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
        if (stride, dilation, groups) != (1, 1, 1):
            raise NotImplementedError("stride, dilation and groups")
        _, dw, db = F.conv2d_backward(dy, x, w, stride, padding, dilation, groups)
        return None, dw, db  # no input gradient: a first layer

    results = assert_conforms(stride_one_only, "conv2d_backward")
    statuses = {r.id: r.status for r in results}
    assert statuses["MB-4-s2"] == "skip" and statuses["MB-3-p1"] == "ok"
    assert all(r.unchecked == ("dx",) for r in results if r.status == "ok")
    text = conformance.format_results("conv2d_backward", "stride_one_only", results)
    assert "skipped (not implemented by the target)" in text and "not checked: dx" in text


def test_every_case_declined_is_a_failure():
    def nothing(x, kernel_size, **kw):
        raise NotImplementedError("nothing")

    with pytest.raises(AssertionError, match="no case of max_pool2d ran"):
        assert_conforms(nothing, "max_pool2d")


# ------------------------------------------------------------------------- assert_conforms


@pytest.mark.parametrize(
    ("fn", "op", "bad_output"),
    [
        (broken_impls.conv2d_backward_transposed_kernel, "conv2d_backward", "dw"),
        (broken_impls.conv2d_backward_ignores_stride, "conv2d_backward", "dx"),
        (broken_impls.max_pool2d_backward_all_ties, "max_pool2d_backward", "dx"),
        (broken_impls.conv2d_nan, "conv2d", "y"),
        (broken_impls.pad_reflect_as_symmetric, "pad", "y"),
        (broken_impls.adaptive_max_pool2d_floor_ends, "adaptive_max_pool2d", "y"),
    ],
    ids=[
        "transposed-kernel",
        "stride-bug",
        "tie-rule",
        "nan",
        "reflect-as-symmetric",
        "floor-ends",
    ],
)
def test_assert_conforms_shows_the_first_failing_case(fn, op, bad_output):
    with pytest.raises(AssertionError) as info:
        assert_conforms(fn, op)
    text = str(info.value)
    assert text.startswith(f"{fn.__name__} does not conform on")
    given = "inputs: dy (" if op.endswith("_backward") else "inputs: x ("
    assert "first failing case:" in text and given in text and "options {" in text
    assert text.count("first failing case:") == 1 and len(text.splitlines()) <= 22
    assert f"  {bad_output}: " in text


def test_assert_conforms_passes_ref_cnn_itself_in_both_dtypes():
    from ref_cnn.functional.batchnorm import batch_norm_train, batch_norm_train_backward

    own = {
        "batch_norm_train": batch_norm_train,
        "batch_norm_train_backward": batch_norm_train_backward,
    }
    for op in conformance.OP_NAMES:
        fn = own.get(op) or getattr(F, op)
        for dtype in (np.float64, np.float32):
            assert_conforms(fn, op, dtype=dtype)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"op": "conv3d"}, "op must be one of"),
        ({"op": "linear", "layout": "nhwc"}, "no image-shaped input"),
        ({"op": "conv2d_backward", "framework": "torch"}, "use --op conv2d"),
        ({"op": "conv2d", "dtype": "bfloat16"}, "NumPy has no such dtype"),
        ({"op": "conv2d", "dtype": "float8"}, "dtype must be one of"),
        (
            {"op": "conv2d", "dtype": "tf32"},
            "a NumPy target is checked in float64, float32 or float16",
        ),
        ({"op": "conv2d", "device": "cuda"}, "a NumPy target runs where NumPy runs"),
        ({"op": "conv2d", "layout": "chwn"}, "layout must be one of"),
    ],
    ids=[
        "unknown-op",
        "nhwc-linear",
        "torch-backward",
        "bfloat16-numpy",
        "float8",
        "tf32-numpy",
        "device-numpy",
        "bad-layout",
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conformance.check(F.conv2d, **kwargs)


def test_cli_help_names_the_options():
    done = subprocess.run(
        [sys.executable, "-m", "ref_cnn", "check", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    for word in (
        "--dtype",
        "--layout",
        "--framework",
        "torch.nn.functional:conv2d",
        "NotImplementedError",
    ):
        assert word in done.stdout


def test_jax_target_through_vjp():
    """Runs where JAX is installed (scripts/peers.py's venv); the suite does not need it."""
    jax = pytest.importorskip("jax")

    def jax_avg_pool(
        x,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        # a small adapter: it declines what it does not implement, which the kit counts as skipped
        if ceil_mode or not count_include_pad or padding or divisor_override or x.ndim != 4:
            raise NotImplementedError("ceil_mode, padding, divisor_override, unbatched input")
        k = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
        s = k if stride is None else ((stride,) * 2 if isinstance(stride, int) else tuple(stride))
        total = jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 1, *k), (1, 1, *s), "VALID")
        return total / (k[0] * k[1])

    results = assert_conforms(jax_avg_pool, "avg_pool2d")
    assert results.about["framework"] == "jax"


def test_peers_script_help_runs_without_building_its_venv(tmp_path):
    """scripts/peers.py installs its peers only when run for real; --help touches nothing."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "peers.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--only" in done.stdout and "docs/peers.md" in done.stdout


def test_a_fixed_rtol_replaces_the_default_bound():
    exact = conformance.check(F.max_pool2d, "max_pool2d", rtol=0.0)  # max pool is exact
    assert conformance.passed(exact) and exact.about["rule"] == "fixed rtol 0e+00"
    results = conformance.check(broken_impls.conv2d_one_ulp_off, "conv2d", rtol=0.0)
    assert len(results.failed) == len(results)
