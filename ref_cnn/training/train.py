"""Training: the learning algorithm of MB-13 with checkpoints that resume exactly.

For each epoch: forward, backpropagation, θ := G(θ) (MB-13), over a seeded shuffle of the
train split (MB-15); then the dev accuracy. Checkpoints are `.npz` files (loaded with
allow_pickle=False), written to a temporary file and renamed, holding the parameters,
the optimizer state, the epoch and the history, so `--resume` continues exactly: two
epochs plus two resumed equal four straight, bit for bit.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ref_cnn import functional as F
from ref_cnn._extras import require
from ref_cnn._io import write_atomic
from ref_cnn.augment import augment_batch
from ref_cnn.training import models, optim
from ref_cnn.training.checkpoint import State, load_checkpoint, save_checkpoint
from ref_cnn.training.data import Dataset, mnist_subset, split, torchvision_dataset
from ref_cnn.training.plots import PLOTS, write_augment_grid, write_plots


@dataclass
class Config:
    model: str = "lenet"
    data: str = "mnist5k"
    root: str | None = None
    download: bool = False
    epochs: int = 5
    lr: float | None = None
    batch_size: int | None = None
    momentum: float | None = None
    seed: int = 0
    out: str = "runs/latest"
    torch: bool = False
    limit: int | None = None  # use only the first `limit` training images (quick runs)
    augment: bool = False  # MB-14: rotate, shift and add noise to every training batch

    def resolved(self) -> Config:
        """Fill the per-model defaults: AV's full-batch GD, or SGD with momentum for LeNet."""
        article = self.model == "article"
        defaults = {
            "lr": 0.5 if article else 0.05,
            "batch_size": 0 if article else 64,
            "momentum": 0.0 if article else 0.9,
        }
        return Config(
            **{**self.__dict__, **{k: v for k, v in defaults.items() if getattr(self, k) is None}}
        )


@dataclass
class Splits:
    train: Dataset
    dev: Dataset
    test: Dataset

    def sizes(self) -> dict[str, int]:
        """(train, dev, test) sizes."""
        return {"train": len(self.train), "dev": len(self.dev), "test": len(self.test)}


def _subset(d: Dataset, idx: np.ndarray, name: str) -> Dataset:
    return Dataset(d.x[idx], d.y[idx], f"{d.name} {name}")


def load_splits(cfg: Config) -> Splits:
    """Seeded, disjoint train/dev/test [MB-15]. AV's model: its 200 images and the binary label."""
    if cfg.data == "mnist5k":
        full = mnist_subset(seed=0)
        parts = split(len(full), (0.7, 0.15, 0.15), seed=cfg.seed)
        out = Splits(*(_subset(full, parts[k], k) for k in ("train", "dev", "test")))
    elif cfg.data in ("mnist", "fashion-mnist"):
        train = torchvision_dataset(cfg.data, cfg.root, train=True, download=cfg.download)
        test = torchvision_dataset(cfg.data, cfg.root, train=False, download=cfg.download)
        parts = split(len(train), (11 / 12, 1 / 12, 0.0), seed=cfg.seed)
        out = Splits(
            _subset(train, parts["train"], "train"), _subset(train, parts["dev"], "dev"), test
        )
    else:
        raise ValueError(f"data must be mnist5k, mnist or fashion-mnist, got {cfg.data!r}")
    if cfg.limit is not None:
        if cfg.limit < 1:
            raise ValueError(f"limit must be at least 1, got {cfg.limit}")
        out = Splits(
            Dataset(out.train.x[: cfg.limit], out.train.y[: cfg.limit], out.train.name),
            out.dev,
            out.test,
        )
    if cfg.model == "article":  # AV-15: 200 training images, label 1 if the digit is > 4
        binary = [
            Dataset(d.x, (d.y > 4).astype(np.float64).reshape(-1, 1), d.name)
            for d in (out.train, out.dev, out.test)
        ]
        out = Splits(
            Dataset(binary[0].x[:200], binary[0].y[:200], binary[0].name), binary[1], binary[2]
        )
    return out


def loss_and_grad(model_name: str, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(E, ∂E/∂out) of a batch: AV-8's half squared error for the article's model,
    MB-13's mean cross-entropy for the others.
    """
    if model_name == "article":  # AV-8: E = Σ (y′ − O)²/2
        return float(F.half_squared_error(out, y)), F.half_squared_error_backward(out, y)
    return float(F.cross_entropy(out, y)), F.cross_entropy_backward(out, y)  # MB-13: mean


def accuracy(model_name: str, model, data: Dataset, chunk: int = 1000) -> float:
    """Fraction of `data` classified right (the article's model: output > 0.5)."""
    model.eval()
    if model_name == "article":  # the standardisation uses the statistics of the whole set
        out = model.forward(data.x)
        model.train()
        return float(np.mean((out > 0.5) == (data.y > 0.5)))
    hits = sum(
        int(
            np.sum(
                np.argmax(model.forward(models.inputs(model_name, data.x[i : i + chunk])), axis=1)
                == data.y[i : i + chunk]
            )
        )
        for i in range(0, len(data), chunk)
    )
    model.train()
    return hits / len(data)


def batches(n: int, batch_size: int, seed: int, epoch: int):
    """The shuffled mini-batches of one epoch, a function of (seed, epoch) only."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    size = n if batch_size <= 0 else batch_size
    return [order[i : i + size] for i in range(0, n, size)]


# ---------------------------------------------------------------- the loop


def make_optimizer(cfg: Config, model):
    """SGD with the run's learning rate and momentum."""
    return optim.SGD(model, lr=cfg.lr, momentum=cfg.momentum)


def train(cfg: Config, resume: Path | None = None, progress: bool = True, log=print) -> dict:
    """Train, checkpoint every epoch into cfg.out, write plots and metrics.json; return the metrics."""
    tqdm = require("tqdm", "training").tqdm
    require("matplotlib", "the training plots")  # fail before training, not after it
    if cfg.torch:
        require("torch", "--torch (the torch twin's training run)")

    cfg = cfg.resolved()
    out = Path(cfg.out)
    splits = load_splits(cfg)
    model = models.build(cfg.model, cfg.seed)
    models.first_conv(model).need_input_grad = False  # no dE/d(images), as torch computes none
    opt = make_optimizer(cfg, model)
    state = State()
    if resume is not None:
        meta, state = load_checkpoint(Path(resume), model, opt)
        if meta["config"]["model"] != cfg.model:
            raise ValueError(f"{resume} holds a {meta['config']['model']} model, not {cfg.model}")
    log(f"data {cfg.data}: sizes {splits.sizes()} (train/dev/test, seed {cfg.seed})")
    log(f"writing to {out.resolve()}")
    for epoch in range(state.epoch + 1, cfg.epochs + 1):
        started = time.perf_counter()
        losses = []
        batch_list = batches(len(splits.train), cfg.batch_size, cfg.seed, epoch)
        bar = tqdm(
            batch_list,
            desc=f"epoch {epoch}/{cfg.epochs}",
            unit="batch",
            disable=not progress,
            leave=False,
        )
        for b, idx in enumerate(bar):
            xb = splits.train.x[idx]
            if cfg.augment:  # a function of (seed, epoch, batch): resumes exactly
                xb = augment_batch(xb, np.random.default_rng([cfg.seed, epoch, b]))
            out_ = model.forward(models.inputs(cfg.model, xb))
            loss, grad = loss_and_grad(cfg.model, out_, splits.train.y[idx])
            model.backward(grad)
            opt.step()  # MB-13: θ := G(θ)
            losses.append(loss)
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "dev_accuracy": accuracy(cfg.model, model, splits.dev),
            "seconds": seconds,
        }
        state.epoch = epoch
        state.history.append(record)
        save_checkpoint(out / "checkpoint.npz", cfg, model, opt, state)
        log(
            f"epoch {epoch}: loss {record['loss']:.4f}, dev accuracy {record['dev_accuracy']:.4f}, {seconds:.2f} s"
        )
    metrics = {
        "config": cfg.__dict__,
        "sizes": splits.sizes(),
        "history": state.history,
        "test_accuracy": accuracy(cfg.model, model, splits.test),
        "seconds_per_epoch": float(np.mean([h["seconds"] for h in state.history]))
        if state.history
        else None,
    }
    if cfg.torch and cfg.model != "article":
        metrics["torch"] = train_torch_twin(cfg, splits, progress)
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    write_plots(out, cfg, model, state.history, splits.test)
    if cfg.augment:
        write_augment_grid(out, splits.train.x[:8], cfg.seed)
    log(
        f"test accuracy {metrics['test_accuracy']:.4f}; {metrics['seconds_per_epoch'] or 0:.2f} s/epoch"
    )
    written = [
        "checkpoint.npz",
        "metrics.json",
        *PLOTS,
        *(["augment_samples.png"] if cfg.augment else []),
    ]
    log(f"wrote {', '.join(written)} to {out.resolve()}")
    if "torch" in metrics:
        t = metrics["torch"]
        log(
            f"torch (same model, same batches): test accuracy {t['test_accuracy']:.4f}; {t['seconds_per_epoch']:.2f} s/epoch"
        )
    return metrics


def train_torch_twin(cfg: Config, splits: Splits, progress: bool) -> dict:
    """The same model (LeNet or the torchvision model), start and batches, trained by torch on
    the CPU (for the s/epoch ratio)."""
    torch = require("torch", "the torch twin's training run")
    tqdm = require("tqdm", "training").tqdm

    from ref_cnn.nn.convert import to_torch

    module = models.torch_twin(cfg.model).double()
    to_torch(models.build(cfg.model, cfg.seed), module)  # the run's initial weights
    opt = torch.optim.SGD(module.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    x = torch.from_numpy(models.inputs(cfg.model, splits.train.x))
    y = torch.from_numpy(splits.train.y)
    seconds = []
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        for idx in tqdm(
            batches(len(y), cfg.batch_size, cfg.seed, epoch),
            desc=f"torch epoch {epoch}",
            disable=not progress,
            leave=False,
        ):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(module(x[idx]), y[idx]).backward()
            opt.step()
        seconds.append(time.perf_counter() - started)
    with torch.no_grad():
        pred = module.eval()(torch.from_numpy(models.inputs(cfg.model, splits.test.x)))
        pred = pred.argmax(1).numpy()
    return {
        "test_accuracy": float(np.mean(pred == splits.test.y)),
        "seconds_per_epoch": float(np.mean(seconds)),
    }
