"""The report's figures, as PNG bytes (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import io

import numpy as np

from ref_cnn._extras import require


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _plt():
    matplotlib = require("matplotlib", "the report's figures")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def error_distribution(records: list[dict]) -> bytes:
    """Relative error against torch per op family, float64 and float32, log scale."""
    plt = _plt()
    families = sorted({r["family"] for r in records if r["witness"] == "torch"})
    fig, ax = plt.subplots(figsize=(9, 4.2))
    floor = 1e-18  # exact agreement is drawn at the floor
    for offset, (dtype, color) in enumerate((("float64", "tab:blue"), ("float32", "tab:orange"))):
        for i, fam in enumerate(families):
            vals = [
                max(r["rel"], floor)
                for r in records
                if r["family"] == fam and r["dtype"] == dtype and r["witness"] == "torch"
            ]
            if vals:
                jitter = np.random.default_rng(i).uniform(-0.12, 0.12, len(vals))
                ax.scatter(
                    i + (offset - 0.5) * 0.3 + jitter,
                    vals,
                    s=8,
                    alpha=0.5,
                    color=color,
                    label=dtype if i == 0 else None,
                )
    ax.axhline(1e-10, color="tab:blue", ls="--", lw=0.8)
    ax.axhline(2e-5, color="tab:orange", ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 1e-3)
    ax.set_xticks(range(len(families)), families, rotation=30, ha="right")
    ax.set_ylabel("max |ours − torch| / max |torch|")
    ax.set_title("Error against torch per op family (dashed: the test bounds; exact = bottom)")
    ax.legend(loc="upper left")
    return _png(fig)


def trajectory(ours: list[float], theirs: list[float], label: str) -> bytes:
    """AV training loss of ref_cnn and torch on one axis, their difference on a log axis."""
    plt = _plt()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    steps = np.arange(len(ours))
    top.plot(steps, ours, lw=2.5, label="ref_cnn (NumPy)")
    top.plot(steps, theirs, "--", lw=1.5, color="k", label="torch")
    top.set_ylabel("E = Σ (y′ − O)²/2")
    top.set_title(f"AV experiment, {label}: 200 MNIST digits, full-batch gradient descent")
    top.legend()
    diff = np.abs(np.array(ours) - np.array(theirs))
    bottom.semilogy(steps, np.maximum(diff, 1e-18), color="tab:red")
    bottom.set_ylabel("|ref_cnn − torch|")
    bottom.set_xlabel("step")
    return _png(fig)


def filters(f_start: np.ndarray, f_end: np.ndarray) -> bytes:
    """The AV filters before and after training."""
    plt = _plt()
    n = f_start.shape[0]
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 4.4))
    for row, (name, f) in enumerate((("start", f_start), ("trained", f_end))):
        for i in range(n):
            ax = axes[row, i]
            ax.imshow(f[i, 0], cmap="gray")
            ax.set_title(f"filter {i + 1}, {name}", fontsize=9)
            ax.axis("off")
    return _png(fig)
