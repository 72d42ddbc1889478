"""The kit at the sizes where kernels tile, its fuzzer, reduced precisions, devices, and
failures a kernel author can act on (reproducers, file and line, hints, case selection)."""

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
from ref_cnn.conformance import fuzz, kit
from ref_cnn.conformance.precision import PRECISIONS, round_to
from ref_cnn.testing import assert_conforms

torch = optional("torch")

HERE = Path(__file__).parent
ROOT = HERE.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}

TILE_BUGS = [
    (broken_impls.conv2d_drops_last_cin_block, "conv2d"),
    (broken_impls.conv2d_zeroes_last_column, "conv2d"),
    (broken_impls.linear_drops_k_remainder, "linear"),
    (broken_impls.max_pool2d_repeats_last_row_tile, "max_pool2d"),
]


@pytest.mark.parametrize(
    ("fn", "op"), TILE_BUGS, ids=["cin-block", "last-column", "k-remainder", "row-tile"]
)
def test_the_default_run_fails_tiled_kernel_bugs_on_its_tile_cases_only(fn, op):
    results = conformance.check(fn, op)
    assert results.failed, "the default run must fail a tiled-kernel bug"
    assert all(r.id.startswith("tile-") for r in results.failed)
    assert all(r.worst_rel > 1e-3 for r in results.failed)


def test_the_tile_cases_reach_the_sizes_where_kernels_tile():
    conv = {c["id"]: c for c in conformance.OPS["conv2d"].cases}
    c_in = [c["x"][-3] for c in conv.values()]
    assert any(c > 64 and c % 8 for c in c_in)
    x, w = conv["tile-w-out-49-h-out-35"]["x"], conv["tile-w-out-49-h-out-35"]["w"]
    h_out, w_out = x[2] - w[2] + 1, x[3] - w[3] + 1
    assert h_out > 32 and 1 <= h_out % 16 <= 15 and w_out > 32 and 1 <= w_out % 16 <= 15
    big = conv["tile-k7x5-s2-d2-batch-3"]
    assert big["x"][0] > 1 and big["kw"]["stride"] > 1 and big["kw"]["dilation"] > 1


def test_fuzz_finds_a_bug_the_fixed_cases_miss_and_shrinks_it():
    bug = broken_impls.conv2d_dilated_even_kernel_flipped
    assert conformance.passed(conformance.check(bug, "conv2d"))  # every fixed case passes
    report = fuzz.fuzz(kit.prepare(bug, "conv2d"), "conv2d", 50, seed=0)
    small = report.shrunk
    assert small is not None and report.result.status == "FAIL"
    assert small["kw"]["dilation"][1] > 1 and small["w"][-1] % 2 == 0  # the bug's condition
    assert np.prod(small["x"]) <= 16 and np.prod(small["w"]) <= 4  # shrunk: x (1, 1, 1, 3)
    text = fuzz.format_report(report, "broken_impls:conv2d_dilated_even_kernel_flipped")
    assert "check(load('broken_impls:conv2d_dilated_even_kernel_flipped'), 'conv2d'" in text
    again = conformance.check(bug, "conv2d", cases=[small])  # the printed case fails again
    assert len(again.failed) == 1


@pytest.mark.parametrize("op", fuzz.FUZZ_OPS)
def test_fuzz_passes_ref_cnn_itself(op):
    report = fuzz.fuzz(kit.prepare(getattr(F, op), op), op, 12, seed=3)
    assert report.tried == 12 and report.shrunk is None, report.result and report.result.detail


def test_fuzz_draws_tile_sizes_and_options_together():
    rng = np.random.default_rng(0)
    drawn = [fuzz.build("conv2d", fuzz.draw("conv2d", rng), "c") for _ in range(300)]
    assert any(c["x"][-3] > 64 for c in drawn) and any(c["x"][-1] > 32 for c in drawn)
    assert any("groups" in c["kw"] and max(c["kw"]["dilation"]) > 1 for c in drawn)
    assert any(len(c["x"]) == 3 for c in drawn) and any(not c["bias"] for c in drawn)


# ------------------------------------------------------------------------ reproducers


def test_save_writes_a_reproducer_that_fails_on_its_own(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ref_cnn", "check", "broken_impls:conv2d_zeroes_last_column"]
        + ["--op", "conv2d", "--case", "tile-w-out*", "--save", str(tmp_path)],
        cwd=HERE,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    script = tmp_path / "conv2d-tile-w-out-49-h-out-35.py"
    data = np.load(script.with_suffix(".npz"))
    assert data["x"].shape == (2, 3, 37, 51) and data["expected_y"].shape == (2, 5, 35, 49)
    again = subprocess.run(
        [sys.executable, str(script)], cwd=HERE, env=ENV, capture_output=True, text=True
    )
    assert again.returncode == 1, again.stdout + again.stderr
    assert "y: FAIL, y: largest error" in again.stdout and "(got 0, expected" in again.stdout


def test_save_from_python_writes_the_arrays_and_names_the_target(tmp_path):
    results = conformance.check(
        broken_impls.linear_drops_k_remainder, "linear", cases="tile-in-130*", save=tmp_path
    )
    assert [r.id for r in results.failed] == ["tile-in-130-out-67-batch-35"]
    text = (tmp_path / "linear-tile-in-130-out-67-batch-35.py").read_text()
    assert "load('broken_impls:linear_drops_k_remainder')" in text


# ----------------------------------------------------------- failures a user can act on


def batch_only_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    n, c, h, wd = x.shape  # unbatched (C, H, W) input: ValueError here
    return F.conv2d(x, w, b, stride, padding, dilation, groups)


def test_an_exception_shows_the_targets_file_and_line_and_the_skip_hint():
    results = conformance.check(batch_only_conv2d, "conv2d", cases="unbatched")
    r = results.failed[0]
    assert f"{Path(__file__).name}:" in r.detail and "in batch_only_conv2d" in r.detail
    assert "n, c, h, wd = x.shape" in r.detail
    assert "raise NotImplementedError for x.ndim == 3" in r.hint
    row = conformance.format_results("conv2d", "batch_only", results)
    assert "raised ValueError" in row and "(nan)" not in row


def nhwc_only_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = F.conv2d(
        x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), b, stride, padding, dilation, groups
    )
    return y.transpose(0, 2, 3, 1)


@pytest.mark.parametrize(
    ("fn", "op", "hint"),
    [
        (nhwc_only_conv2d, "conv2d", "passes with --layout nhwc"),
        (F.conv2d_backward, "conv2d", "use --op conv2d_backward"),
        (F.conv2d, "conv2d_backward", "use --op conv2d"),
    ],
    ids=["channels-last-as-nchw", "backward-as-forward", "forward-as-backward"],
)
def test_hints_for_the_common_mistakes(fn, op, hint):
    results = conformance.check(fn, op, cases="MB-5,MB-3")
    assert any(hint in h for h in results.hints), results.hints
    assert f"hint: {results.hints[0]}" in conformance.format_results(op, "t", results)


def test_backward_inputs_list_dy_and_not_the_bias():
    results = conformance.check(
        broken_impls.conv2d_backward_transposed_kernel, "conv2d_backward", cases="MB-5"
    )
    assert list(results[0].inputs["shapes"]) == ["dy", "x", "w"]


def test_cases_are_selected_by_glob_or_substring_and_listed():
    ids = [r.id for r in conformance.check(F.max_pool2d, "max_pool2d", cases="tile-*,ceil")]
    assert ids and all(i.startswith("tile-") or "ceil" in i for i in ids)
    with pytest.raises(ValueError, match="no case matches 'nothing'; the cases: IC-8"):
        conformance.check(F.max_pool2d, "max_pool2d", cases="nothing")
    done = subprocess.run(
        [sys.executable, "-m", "ref_cnn", "check", "--op", "linear", "--list-cases"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        done.returncode == 0 and "tile-in-130-out-67-batch-35  shape (35, 130, 67)" in done.stdout
    )


# ------------------------------------------------------------- precisions and devices


@pytest.mark.torch
def test_bfloat16_rounding_is_torchs():
    a = np.random.default_rng(1).standard_normal(10_000) * 50
    expected = torch.tensor(a).to(torch.bfloat16).float().numpy()
    assert np.array_equal(round_to(a, PRECISIONS["bfloat16"]), expected)


def test_tf32_rounding_keeps_ten_bits():
    a = np.random.default_rng(1).standard_normal(10_000) * 50
    tf32 = round_to(a, PRECISIONS["tf32"])
    assert not (tf32.view(np.uint32) & 0x1FFF).any()  # the 13 low mantissa bits are zero
    assert np.max(np.abs(tf32 - a) / np.abs(a)) <= 2.0**-11


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "tf32"])
def test_torch_cpu_conv_passes_in_reduced_precision(dtype):
    results = assert_conforms(torch.nn.functional.conv2d, "conv2d", dtype=dtype)
    assert results.about["dtype"] == dtype and all(r.worst_rel > 0 for r in results)
    eps = PRECISIONS[dtype].eps
    assert all(r.bound >= 10 * eps for r in results)


@pytest.mark.torch
def test_reduced_precision_still_fails_a_tile_bug():
    def torch_zeroes_last_column(x, w, b=None, **kw):
        y = torch.nn.functional.conv2d(x, w, b, **kw)
        if y.shape[-1] > 32 and y.shape[-1] % 16:
            y = torch.cat([y[..., :-1], torch.zeros_like(y[..., -1:])], dim=-1)
        return y

    results = conformance.check(torch_zeroes_last_column, "conv2d", dtype="bfloat16")
    assert {r.id for r in results.failed} == {"tile-w-out-49-h-out-35", "tile-h-out-33-w-out-37-p2"}


@pytest.mark.torch
def test_the_device_receives_the_inputs_and_tf32_flags_are_restored():
    seen = []

    def where(x, w, b=None, **kw):
        seen.append((x.device, x.dtype, torch.backends.cudnn.allow_tf32))
        return torch.nn.functional.conv2d(x, w, b, **kw)

    before = torch.backends.cudnn.allow_tf32
    conformance.check(where, "conv2d", "float32", framework="torch", device="cpu", cases="MB-5")
    conformance.check(where, "conv2d", "float32", framework="torch", tf32=True, cases="MB-5")
    assert seen == [
        (torch.device("cpu"), torch.float32, False),
        (torch.device("cpu"), torch.float32, True),
    ]
    assert torch.backends.cudnn.allow_tf32 == before


@pytest.mark.torch
def test_a_missing_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="device 'cuda' is not available to torch here"):
        conformance.check(torch.nn.functional.conv2d, "conv2d", device="cuda")


def test_peers_folds_gpu_json_rows_into_its_gpu_section(tmp_path):
    """scripts/gpu_kit.sh writes one JSON per op and mode; peers.py --gpu-results splices them."""
    import json

    from ref_cnn.conformance.command import results_json

    results = conformance.check(broken_impls.linear_drops_k_remainder, "linear")
    row = {**results_json(results, "mine:linear", 1.0), "mode": "float64", "gpu": "a test GPU"}
    (tmp_path / "linear-float64.json").write_text(json.dumps(row), encoding="utf-8")
    sys.path.insert(0, str(ROOT / "scripts"))
    import peers

    doc = tmp_path / "peers.md"
    doc.write_text(
        f"before\n{peers.GPU_START}\nOLD-ROWS\n{peers.GPU_END}\nafter\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "peers.py"), "--gpu-results", str(tmp_path)]
        + ["--out", str(doc)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("after\n") and "OLD-ROWS" not in text
    assert "on a test GPU" in text and "| `linear` | float64 | 4/6 | 2 |" in text
    assert "tile-in-130-out-67-batch-35: y: largest error" in text


def test_fuzz_never_draws_a_max_pool_window_made_of_padding_only():
    """torch 2.14's max_pool2d returns -inf with an index past the plane for such a window
    (x (1, 1, 2, 7), kernel (2, 5), stride (1, 3), padding 1, dilation (3, 2)), and its
    backward then corrupts the heap: the fuzzer must reject the case before torch runs it."""
    case = {
        "id": "padding-only-window",
        "x": (1, 1, 2, 7),
        "kw": {"kernel_size": (2, 5), "stride": (1, 3), "padding": (1, 1), "dilation": (3, 2)},
    }
    assert not fuzz.valid(kit.prepare(F.max_pool2d, "max_pool2d"), case)
    assert not any(fuzz._window_in_padding(c) for c in conformance.OPS["max_pool2d"].cases)
