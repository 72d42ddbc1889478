"""The training command's figures: curves, first-layer filters, feature maps, augmented samples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ref_cnn._extras import require
from ref_cnn._io import write_atomic
from ref_cnn.augment import augment_batch


def _pyplot():
    matplotlib = require("matplotlib", "the training plots")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(out: Path, fig, name: str) -> None:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    write_atomic(out / name, buf.getvalue())


def write_augment_grid(out: Path, x: np.ndarray, seed: int) -> None:
    """augment_samples.png: each image, then four augmented versions of it."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(x), 5, figsize=(6, 1.25 * len(x)), squeeze=False)
    for col in range(5):
        shown = x if col == 0 else augment_batch(x, np.random.default_rng([seed, col]))
        for row in range(len(x)):
            axes[row][col].imshow(shown[row, 0], cmap="gray", vmin=0, vmax=1)
            axes[row][col].axis("off")
        axes[0][col].set_title("original" if col == 0 else f"augmented {col}", fontsize=8)
    _save(out, fig, "augment_samples.png")


PLOTS = ("curves.png", "filters.png", "feature_maps.png")


def curves_figure(history: list[dict], title: str):
    """Loss and dev accuracy per epoch on axes that read for any number of epochs: whole
    epochs from 0.5 to the last + 0.5, loss from 0, accuracy from 0 to 1."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = [h["epoch"] for h in history]
    losses = [h["loss"] for h in history]
    a.plot(epochs, losses, "o-")
    a.set(xlabel="epoch", ylabel="train loss", title=title)
    finite = [v for v in losses if np.isfinite(v)]  # a diverged run's inf/NaN is not drawn
    a.set_ylim(0, 1.1 * max(finite, default=1.0) or 1.0)
    b.plot(epochs, [h["dev_accuracy"] for h in history], "o-", color="tab:green")
    b.set(xlabel="epoch", ylabel="dev accuracy")
    b.set_ylim(0, 1.02)
    for ax in (a, b):
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        if max(epochs) - min(epochs) < 10:  # one tick per epoch
            ax.set_xticks(range(min(epochs), max(epochs) + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def write_plots(out: Path, cfg, model, history: list[dict], test) -> None:
    """curves.png (loss and dev accuracy), filters.png, feature_maps.png (one test image)."""
    plt = _pyplot()

    def save(fig, name):
        _save(out, fig, name)

    if history:
        save(curves_figure(history, f"{cfg.model} on {cfg.data}"), "curves.png")
    from ref_cnn.training.models import first_conv, inputs

    conv = first_conv(model)
    w = conv.params()["weight"]
    fig, axes = plt.subplots(1, w.shape[0], figsize=(1.6 * w.shape[0], 1.8), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(w[i, 0], cmap="gray")
        ax.set_title(f"filter {i + 1}", fontsize=8)
        ax.axis("off")
    save(fig, "filters.png")
    maps = conv.forward(inputs(cfg.model, test.x[:1]))[0]
    fig, axes = plt.subplots(
        1, maps.shape[0] + 1, figsize=(1.6 * (maps.shape[0] + 1), 1.8), squeeze=False
    )
    axes[0][0].imshow(test.x[0, 0], cmap="gray")
    axes[0][0].set_title("input", fontsize=8)
    for i, ax in enumerate(axes[0]):
        if i:
            ax.imshow(maps[i - 1], cmap="viridis")
            ax.set_title(f"map {i}", fontsize=8)
        ax.axis("off")
    save(fig, "feature_maps.png")
