"""Run the conformance kit against implementations this project did not write → docs/peers.md.

    python scripts/peers.py                 # builds .peers-venv once, installs the peers, runs them
    python scripts/peers.py --only ic,jax   # a subset (ic, av, numpy-ml, numpy-ml-f32, tinygrad, jax, onnx, torch32)
    python scripts/peers.py --gpu-results DIR   # fold scripts/gpu_kit.sh's JSON rows into docs/peers.md

The peers live in a venv of their own (`.peers-venv`, gitignored), never in the project's:
jax/jaxlib, tinygrad, numpy-ml 0.1.2, onnx (its NumPy reference runtime), plus the same numpy
and torch (the kit's witness).
Each peer gets a thin adapter (`scripts/peer_adapters/`, a module per peer) that maps
ref_cnn's signature onto the peer's API and nothing more; where a case asks for an option
the peer does not have (stride for a layer with no stride), the adapter raises
NotImplementedError and the kit counts the case as skipped, not failed. The IC and AV code is copied as printed in the articles
(`/work/shared/seeds/002_*`, `003_*`), re-indented where the page lost the indentation.

Environment notes, reported in docs/peers.md as well:
* numpy-ml 0.1.2 does `from collections import Hashable`, removed in Python 3.10: the script
  sets `collections.Hashable = collections.abc.Hashable` before importing it.
* tinygrad's CPU device compiles kernels with clang; without clang it runs on its PYTHON
  device (the same kernels, interpreted). DEV=PYTHON is set unless DEV is already set.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc
import datetime
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".peers-venv"
OUT = ROOT / "docs" / "peers.md"
LAST_RUN = VENV / "last-run.json"  # the rows behind the last docs/peers.md, for --render-only
PEERS = [
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "tinygrad==0.14.0",
    "numpy-ml==0.1.2",
    "onnx==1.23.2",
    "scipy",
]


# ------------------------------------------------------------------------------ the venv


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create .peers-venv with this interpreter and install the peers (pinned) into it."""
    if not _venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    same = [f"numpy=={metadata.version('numpy')}"]
    same.append(f"torch=={metadata.version('torch').split('+')[0]}")
    subprocess.run(
        [str(_venv_python()), "-m", "pip", "install", "--quiet", *same, *PEERS], check=True
    )


def reexec_inside(argv: list[str]) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REF_CNN_PEERS_INSIDE": "1"}
    env.setdefault("DEV", "PYTHON")
    return subprocess.run([str(_venv_python()), __file__, *argv], env=env).returncode


# The imports below run inside .peers-venv only.
if os.environ.get("REF_CNN_PEERS_INSIDE"):
    from ref_cnn import conformance
    from ref_cnn._io import write_atomic

    collections.Hashable = collections.abc.Hashable  # numpy-ml 0.1.2 on Python ≥ 3.10


sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/, for the adapters' package
from peer_adapters import articles, jax_lax, numpy_ml, onnx_ref, tinygrad  # noqa: E402

# ------------------------------------------------------------------------------ the runs

NUMPY_ML = "numpy-ml 0.1.2"
ONNX = "ONNX 1.23.2 reference runtime"
RUNS = {
    # key: [(implementation, op, function, check options)]
    "ic": [
        ("IC post (Convolution)", "conv2d", articles.ic_conv2d, {}),
        ("IC post (Convolution)", "conv2d_backward", articles.ic_conv2d_backward, {}),
        ("IC post (MaxPooling)", "max_pool2d", articles.ic_max_pool2d, {}),
        ("IC post (MaxPooling)", "max_pool2d_backward", articles.ic_max_pool2d_backward, {}),
    ],
    "av": [
        ("AV article (listings)", "conv2d", articles.av_conv2d, {}),
        ("AV article (listings)", "conv2d_backward", articles.av_conv2d_backward, {}),
    ],
    "numpy-ml": [
        (f"{NUMPY_ML} Conv2D", "conv2d", numpy_ml.nml_conv2d, {"layout": "nhwc"}),
        (f"{NUMPY_ML} Conv2D", "conv2d_backward", numpy_ml.nml_conv2d_backward, {"layout": "nhwc"}),
        (f"{NUMPY_ML} Pool2D max", "max_pool2d", numpy_ml.nml_max_pool2d, {"layout": "nhwc"}),
        (
            f"{NUMPY_ML} Pool2D max",
            "max_pool2d_backward",
            numpy_ml.nml_max_pool2d_backward,
            {"layout": "nhwc"},
        ),
        (f"{NUMPY_ML} Pool2D average", "avg_pool2d", numpy_ml.nml_avg_pool2d, {"layout": "nhwc"}),
        (
            f"{NUMPY_ML} Pool2D average",
            "avg_pool2d_backward",
            numpy_ml.nml_avg_pool2d_backward,
            {"layout": "nhwc"},
        ),
        (
            f"{NUMPY_ML} BatchNorm2D",
            "batch_norm_train",
            numpy_ml.nml_batch_norm,
            {"layout": "nhwc"},
        ),
        (
            f"{NUMPY_ML} BatchNorm2D",
            "batch_norm_train_backward",
            numpy_ml.nml_batch_norm_backward,
            {"layout": "nhwc"},
        ),
    ],
    "numpy-ml-f32": [
        (
            f"{NUMPY_ML} Conv2D",
            "conv2d",
            numpy_ml.nml_conv2d,
            {"layout": "nhwc", "dtype": "float32"},
        ),
        (
            f"{NUMPY_ML} Conv2D",
            "conv2d_backward",
            numpy_ml.nml_conv2d_backward,
            {"layout": "nhwc", "dtype": "float32"},
        ),
        (
            f"{NUMPY_ML} Pool2D max",
            "max_pool2d",
            numpy_ml.nml_max_pool2d,
            {"layout": "nhwc", "dtype": "float32"},
        ),
        (
            f"{NUMPY_ML} BatchNorm2D",
            "batch_norm_train",
            numpy_ml.nml_batch_norm,
            {"layout": "nhwc", "dtype": "float32"},
        ),
    ],
    "tinygrad": [
        ("tinygrad 0.14.0", "conv2d", tinygrad.tiny_conv2d, {}),
        ("tinygrad 0.14.0", "conv2d_backward", tinygrad.tiny_conv2d_backward, {}),
        ("tinygrad 0.14.0", "max_pool2d", tinygrad.tiny_max_pool2d, {}),
        ("tinygrad 0.14.0", "max_pool2d_backward", tinygrad.tiny_max_pool2d_backward, {}),
        ("tinygrad 0.14.0", "avg_pool2d", tinygrad.tiny_avg_pool2d, {}),
        ("tinygrad 0.14.0", "avg_pool2d_backward", tinygrad.tiny_avg_pool2d_backward, {}),
        ("tinygrad 0.14.0", "conv_transpose2d", tinygrad.tiny_conv_transpose2d, {}),
        (
            "tinygrad 0.14.0",
            "conv_transpose2d_backward",
            tinygrad.tiny_conv_transpose2d_backward,
            {},
        ),
        ("tinygrad 0.14.0", "pad", tinygrad.tiny_pad, {}),
        ("tinygrad 0.14.0", "pad_backward", tinygrad.tiny_pad_backward, {}),
    ],
    "jax": [
        ("JAX 0.10.2 lax.conv_general_dilated", "conv2d", jax_lax.jax_conv2d, {"framework": "jax"}),
        (
            "JAX 0.10.2 lax.reduce_window max",
            "max_pool2d",
            jax_lax.jax_max_pool2d,
            {"framework": "jax"},
        ),
        (
            "JAX 0.10.2 lax.reduce_window add",
            "avg_pool2d",
            jax_lax.jax_avg_pool2d,
            {"framework": "jax"},
        ),
        ("JAX 0.10.2 jnp.pad", "pad", jax_lax.jax_pad, {"framework": "jax"}),
    ],
    "onnx": [
        (ONNX, "conv2d", onnx_ref.onnx_conv2d, {"framework": "numpy"}),
        (ONNX, "conv_transpose2d", onnx_ref.onnx_conv_transpose2d, {"framework": "numpy"}),
        (ONNX, "max_pool2d", onnx_ref.onnx_max_pool2d, {"framework": "numpy"}),
        (ONNX, "avg_pool2d", onnx_ref.onnx_avg_pool2d, {"framework": "numpy"}),
        (ONNX, "linear", onnx_ref.onnx_linear, {"framework": "numpy"}),
        (ONNX, "pad", onnx_ref.onnx_pad, {"framework": "numpy"}),
        (ONNX, "conv2d", onnx_ref.onnx_conv2d, {"framework": "numpy", "dtype": "float32"}),
    ],
    "torch32": [
        (
            "torch {torch} float32 CPU",
            op,
            f"torch.nn.functional:{op}",
            {"dtype": "float32", "rtol": 2e-5},
        )
        for op in ("conv2d", "max_pool2d", "avg_pool2d", "linear")
    ],
}

# What a failure means, written after reading the run: (implementation, op) → (the first
# failing case the sentence was written for, the sentence). A run whose first failure is a
# different case gets "not explained" in the table rather than a stale sentence.
_TIES_IC = (
    "IC-8-ties-k2",
    "a convention, not torch's: the mask `region == np.max(region)` gives the whole gradient to "
    "every tied maximum (ref_cnn's erratum IC-code-1), torch to the first one only; on distinct "
    "values it conforms. After a ReLU whole windows of zeros tie, so the gradient is multiplied.",
)
_AV_BACKWARD = (
    "AV-14-av-layer-nobias",
    "a real bug: with 3 images and 3 filters the filter gradient is wrong (relative error ~1): "
    "δ is averaged over the images (errata AV-code-1), resized in the wrong order (AV-code-3) and "
    "indexed by image instead of by filter (AV-code-4). With one image and one filter those "
    "slips cancel and it conforms; at the article's 200 images it stops with an IndexError.",
)
_NML_PAD_BACKWARD = (
    "pad1-minus-inf",
    "a real bug: with padding, `backward` looks for the maximum in the unpadded X at the padded "
    "window's offsets, so the gradient lands on the wrong pixel (and with stride 1 the slice "
    "shapes clash: ValueError on IC-8-plateau-overlapping-p1). Without padding it conforms, ties "
    "included (first maximum, as torch).",
)
_NML_FLOAT64_OUT = "float32 in, float64 out: the {what} is allocated with np.zeros' default dtype."
MEANING: dict[tuple[str, str], tuple[str, str]] = {
    ("IC post (MaxPooling)", "max_pool2d_backward"): _TIES_IC,
    ("AV article (listings)", "conv2d_backward"): _AV_BACKWARD,
    (f"{NUMPY_ML} Pool2D max", "max_pool2d"): (
        "pad1-all-negative",
        "a real bug: Pool2D pads with zeros (pad2D's constant 0), not −inf, so a border window "
        "of negative values returns 0. Random normal inputs rarely show it (the first run of "
        "this table passed the layer); the kit's all-negative case was added for it.",
    ),
    (f"{NUMPY_ML} Pool2D max", "max_pool2d_backward"): _NML_PAD_BACKWARD,
    ("tinygrad 0.14.0", "max_pool2d_backward"): (
        "IC-8-ties-k2",
        "a convention: tinygrad's max gradient splits δ equally among tied maxima (a third each "
        "here), torch gives it all to the first; with distinct values it conforms, padding, "
        "dilation and ceil_mode included.",
    ),
}
MEANING.update(
    {
        (ONNX, "max_pool2d"): (
            "googlenet-k3-s1-p1-ceil",
            "a real bug, the reported suspect confirmed: GoogLeNet's pool (8×8, kernel 3, stride 1, "
            "padding 1, ceil_mode) comes out 10×10, torch's 8×8. With stride and dilation 1 "
            "MaxPool takes `_op_common_pool`'s path, which pads x and then adds the padding to "
            "the padded size again when ceil_mode is set; other strides take MaxPool's own "
            "loop and conform, ceil_mode included.",
        ),
        (ONNX, "avg_pool2d"): (
            "tile-ceil-s3-out-17x33",
            "a real bug: with ceil_mode, where the last window needs 2 or more extra elements "
            "(kernel 4, stride 3 on 50 rows), `get_output_shape_explicit_padding` splits that "
            "extra padding between both ends, so every window, the first included, moves one "
            "row and column up-left (relative error ~1). The fixed ceil cases need 1 extra "
            "element, which goes to the end, and pass; the tile case found it.",
        ),
        (ONNX, "conv_transpose2d"): (
            "groups-2-dilation-2",
            "a real bug: with group > 1 ConvTranspose slices its weight by output channels, "
            "W[g·M/G:(g+1)·M/G], where W's first axis holds the input channels (C/G per group), "
            "so with C_in ≠ C_out the slice has the wrong size and a reshape raises ValueError; "
            "group 1 conforms, dilation and output_padding included.",
        ),
        (ONNX, "pad"): (
            "constant-negative-crops",
            "a gap: the ONNX spec lets a negative pad crop, the reference Pad raises "
            "`ValueError: index can't contain negative values`; every mode conforms otherwise.",
        ),
    }
)
# what a reader should know about a row whatever its outcome
NOTES: dict[tuple[str, str], str] = {
    ("IC post (Convolution)", "conv2d"): "The class has stride 1 and square kernels only, and one "
    "bias per output position (erratum IC-code-2): the adapter ties it per channel.",
    ("JAX 0.10.2 lax.reduce_window max", "max_pool2d"): "JAX itself raises NotImplementedError for "
    "the gradient of a max pool with window dilation (counted as skipped); tied maxima: the "
    "first gets the gradient, as in torch.",
    (ONNX, "max_pool2d"): "`--fuzz 400 --seed 1` finds a second bug on the same path (case 110, "
    "shrunk to x (1, 1, 1, 1), kernel (2, 1), stride 1, padding (1, 0)): `_op_common_pool` "
    "unpacks ONNX's pads [top, left, bottom, right] as top, bottom, left, right, so a stride-1 "
    "pool with a different padding per axis raises `ValueError: zero-size array to reduction "
    "operation maximum`.",
    ("AV article (listings)", "conv2d"): "One input channel, stride 1, no padding; the article's "
    "layer has no bias (the adapter adds b after the listing).",
}
# float32 rows share names with the float64 ones: keyed by dtype as well
MEANING_F32: dict[tuple[str, str], tuple[str, str]] = {
    (f"{NUMPY_ML} Conv2D", "conv2d_backward"): (
        "MB-5-multichannel-cin3-cout4",
        _NML_FLOAT64_OUT.format(what="input gradient (col2im's buffer)"),
    ),
    (f"{NUMPY_ML} Pool2D max", "max_pool2d"): (
        "IC-8-k2-default-stride",
        _NML_FLOAT64_OUT.format(what="output Y"),
    ),
}


def _check(impl, op, fn, options):
    import time

    if isinstance(fn, str):
        fn = conformance.load(fn)
    start = time.perf_counter()
    try:
        results = conformance.check(fn, op, **options)
    except Exception as exc:  # noqa: BLE001 - a peer that cannot even be called is a finding
        return {"impl": impl, "op": op, "options": options, "error": f"{type(exc).__name__}: {exc}"}
    skipped = [r for r in results if r.status == "skip"]
    ok = [r for r in results if r.status == "ok"]
    return {
        "impl": impl,
        "op": op,
        "options": options,
        "about": results.about,
        "total": len(results),
        "passed": len(ok),
        "failed": len(results.failed),
        "skipped": len(skipped),
        "skip_reasons": sorted({r.detail.removeprefix("not implemented: ") for r in skipped}),
        "unchecked": sorted({u for r in ok for u in r.unchecked}),
        "worst_passing": max((r.worst_rel for r in ok), default=None),
        "first_failure": results.failed[0].id if results.failed else "",
        "failure_text": conformance.first_failure(results),
        "failures": [(r.id, r.detail) for r in results.failed],
        "table": conformance.format_results(op, impl, results),
        "seconds": time.perf_counter() - start,
    }


def _mode(row) -> str:
    about = row.get("about") or {}
    mode = f"{about.get('framework', '?')}, {about.get('dtype', '?')}"
    if about.get("layout") == "nhwc":
        mode += ", NHWC"
    if "rtol" in row["options"]:
        mode += f", fixed rtol {row['options']['rtol']:.0e}"
    return mode


def _meaning(row) -> str:
    note = NOTES.get((row["impl"], row["op"])) if row["options"].get("dtype") != "float32" else None
    return _outcome(row) + (f" {note}" if note else "")


def _outcome(row) -> str:
    if "error" in row:
        return "the kit could not call it: " + row["error"]
    if not row["failed"]:
        if not row["passed"]:
            return "no case within its options"
        extra = (
            f"; not checked: {', '.join(row['unchecked'])} (not computed)"
            if row["unchecked"]
            else ""
        )
        return (
            f"conforms on every case it supports (worst error {row['worst_passing']:.1e}){extra}."
        )
    table = MEANING_F32 if row["options"].get("dtype") == "float32" else MEANING
    case, sentence = table.get((row["impl"], row["op"]), ("", ""))
    if case != row["first_failure"]:
        return "not explained yet (see the details below)"
    return sentence


def _versions() -> str:
    names = ["numpy", "torch", "jax", "jaxlib", "tinygrad", "numpy-ml", "onnx", "scipy"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def render(rows) -> str:
    lines = [
        "# What the conformance kit finds in code this project did not write",
        "",
        f"Generated by `python scripts/peers.py` on {datetime.date.today()} (Python "
        f"{platform.python_version()}; {_versions()}; tinygrad on its `{os.environ.get('DEV', '')}` "
        "device). Do not edit by hand: rerun the script.",
        "",
        "Each row runs `ref_cnn.conformance.check` (what `python -m ref_cnn check` runs) on one",
        "implementation and op through a thin adapter in `scripts/peer_adapters/` that maps",
        "ref_cnn's signature onto the peer's API. The witness is torch's float64 autograd with a",
        "random upstream gradient; the bound is 1e-10 relative (norm-wise, NaN/inf placement",
        "first) unless the mode says otherwise. *skipped* counts the cases whose options the",
        "implementation does not offer (its adapter raises NotImplementedError; the reasons are",
        "in the details), not failures. `_backward` rows check a NumPy backward (dx, dw, db);",
        "torch and JAX rows check the forward and every gradient through autograd / `jax.vjp`.",
        "No peer here takes torch's unbatched (C, H, W) inputs or avg_pool2d's",
        "`divisor_override`; those cases are skipped for every implementation except torch.",
        "ONNX's reference runtime has no gradients: its rows check the forward output.",
        "",
        "Setting up: numpy-ml 0.1.2 imports `collections.Hashable`, gone since Python 3.10;",
        "the script sets `collections.Hashable = collections.abc.Hashable` first. tinygrad's",
        "CPU device needs clang, which this machine lacks; its PYTHON device interprets the",
        "same kernels, too slowly for the kit's tile-sized cases (its six conv2d ones took 7",
        "minutes): inputs above 1,000 elements are skipped for time there.",
        "",
        "| implementation | op | mode | passed | failed | skipped | first failing case | what it means |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['impl']} | `{row['op']}` | | | | | | {_meaning(row)} |")
            continue
        ran = row["passed"] + row["failed"]
        lines.append(
            f"| {row['impl']} | `{row['op']}` | {_mode(row)} | {row['passed']}/{ran} | "
            f"{row['failed']} | {row['skipped']} | {row['first_failure'] or '–'} | {_meaning(row)} |"
        )
    lines += ["", "## torch's CUDA kernels", "", GPU_START, GPU_NONE, GPU_END]
    lines += ["", "## Details", ""]
    for row in rows:
        lines.append(f"### {row['impl']}: `{row['op']}`")
        lines.append("")
        if "error" in row:
            lines += [row["error"], ""]
            continue
        if row["skip_reasons"]:
            lines += ["Skipped (not offered): " + "; ".join(row["skip_reasons"]) + ".", ""]
        lines += ["```", row["table"], "```", ""]
        if len(row["failures"]) > 1:
            lines += ["Every failing case:", ""]
            lines += [f"- {case}: {detail}" for case, detail in row["failures"]]
            lines.append("")
    return "\n".join(lines)


GPU_START, GPU_END = "<!-- gpu rows: scripts/peers.py --gpu-results -->", "<!-- end of gpu rows -->"
GPU_NONE = (
    "No GPU rows in this file yet: run `OUT=DIR PYTHONPATH=. bash scripts/gpu_kit.sh` on a machine "
    "with a CUDA GPU, then `python scripts/peers.py --gpu-results DIR` here."
)


def render_gpu(rows: list[dict]) -> str:
    """The GPU section: one row per op and mode from scripts/gpu_kit.sh's JSON files."""
    if not rows:
        return GPU_NONE
    first = rows[0]
    lines = [
        f"`scripts/gpu_kit.sh` on {first.get('gpu', first.get('device', '?'))} (torch "
        f"{first.get('torch', '?')}, cuDNN {first.get('cudnn', '?')}): torch's own CUDA kernels "
        "through `--device cuda`, the witness torch float64 on the CPU. *float32 TF32 on* is a "
        "float32 check with TF32 allowed (it should fail where TF32 is used: TF32 is not "
        "float32); *tf32* rounds the inputs to TF32 first and holds the result to the tf32 bound.",
        "",
        "| op | mode | passed | failed | worst passing error | bound | first failing case |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(
                f"| `{row['op']}` | {row['mode']} | | | | | could not run: {row['error']} |"
            )
            continue
        cases = row.get("cases", [])
        ran = row["passed"] + row["failed"]
        bounds = [c["bound"] for c in cases if c.get("bound") is not None]
        bound = f"{min(bounds):.1e}–{max(bounds):.1e}" if bounds else "–"
        worst = row.get("worst_passing")
        failing = next((c for c in cases if c["status"] == "FAIL"), None)
        first = f"{failing['id']}: {failing['detail']}" if failing else "–"
        lines.append(
            f"| `{row['op']}` | {row['mode'].replace('-', ' ')} | {row['passed']}/{ran} | "
            f"{row['failed']} | {'–' if worst is None else f'{worst:.1e}'} | {bound} | {first} |"
        )
    return "\n".join(lines)


def _gpu_rows(folder: Path) -> list[dict]:
    order = ["float64", "float32", "float32-tf32-on", "tf32", "bfloat16", "float16"]
    rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    return sorted(rows, key=lambda r: (r["op"], order.index(r.get("mode", "float64"))))


def splice_gpu(text: str, section: str) -> str:
    """docs/peers.md with its GPU section replaced."""
    start, end = text.index(GPU_START) + len(GPU_START), text.index(GPU_END)
    return f"{text[:start]}\n{section}\n{text[end:]}"


def _existing_gpu(path: Path) -> str:
    """The GPU section already in docs/peers.md, kept across CPU reruns."""
    if not path.exists():
        return GPU_NONE
    text = path.read_text(encoding="utf-8")
    if GPU_START not in text or GPU_END not in text:
        return GPU_NONE
    return text[text.index(GPU_START) + len(GPU_START) : text.index(GPU_END)].strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(RUNS)}")
    parser.add_argument("--no-install", action="store_true", help="use .peers-venv as it is")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help=f"rewrite --out from the last run's results ({LAST_RUN.relative_to(ROOT)}), "
        "e.g. after editing a sentence in MEANING",
    )
    parser.add_argument(
        "--gpu-results",
        type=Path,
        metavar="DIR",
        help="fold the JSON files scripts/gpu_kit.sh wrote in DIR into --out's GPU section "
        "(no venv, nothing else rerun)",
    )
    args = parser.parse_args(argv)
    if args.gpu_results:
        text = splice_gpu(
            args.out.read_text(encoding="utf-8"), render_gpu(_gpu_rows(args.gpu_results))
        )
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote the GPU rows of {args.gpu_results} into {args.out}")
        return 0
    if not os.environ.get("REF_CNN_PEERS_INSIDE"):
        if not args.no_install:
            ensure_venv()
        return reexec_inside(sys.argv[1:] if argv is None else argv)
    if args.render_only:
        rows = json.loads(LAST_RUN.read_text(encoding="utf-8"))
        write_atomic(args.out, splice_gpu(render(rows), _existing_gpu(args.out)))
        print(f"wrote {args.out} from {LAST_RUN}")
        return 0
    keys = args.only.split(",") if args.only else list(RUNS)
    rows = []
    for key in keys:
        for impl, op, fn, options in RUNS[key]:
            impl = impl.replace("{torch}", metadata.version("torch").split("+")[0])
            row = _check(impl, op, fn, options)
            rows.append(row)
            status = (
                row.get("error")
                or f"{row['passed']} ok, {row['failed']} failed, {row['skipped']} skipped"
            )
            print(f"{impl:45} {op:26} {status} ({row.get('seconds', 0):.1f} s)", flush=True)
    LAST_RUN.write_text(json.dumps(rows, default=str), encoding="utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, splice_gpu(render(rows), _existing_gpu(args.out)))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
