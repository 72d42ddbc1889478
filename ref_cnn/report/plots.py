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


DEFAULT_BOUND = {"float64": 1e-10, "float32": 2e-5}  # conftest.RTOL: the suite's bound per dtype


def families_in_order(records: list[dict]) -> list[str]:
    """The op families of the torch records, in the report's order (collect.FAMILIES)."""
    from ref_cnn.report.collect import FAMILIES

    present = {r["family"] for r in records if r["witness"] == "torch"}
    return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


def error_distribution(records: list[dict]) -> bytes:
    """Relative error against torch per op family, float64 and float32, log scale, with the
    bound each point was held to: the dashed lines where it is the dtype's default bound, a
    bar above the point where a test applied another one."""
    plt = _plt()
    families = families_in_order(records)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    floor = 1e-18  # exact agreement is drawn at the floor
    other_bound = False
    for offset, (dtype, color) in enumerate((("float64", "tab:blue"), ("float32", "tab:orange"))):
        for i, fam in enumerate(families):
            picked = [
                r
                for r in records
                if r["family"] == fam and r["dtype"] == dtype and r["witness"] == "torch"
            ]
            if not picked:
                continue
            xs = (
                i
                + (offset - 0.5) * 0.3
                + np.random.default_rng(i).uniform(-0.12, 0.12, len(picked))
            )
            ax.scatter(
                xs,
                [max(r["rel"], floor) for r in picked],
                s=8,
                alpha=0.5,
                color=color,
                label=dtype if not any(t.get_label() == dtype for t in ax.collections) else None,
            )
            for x, r in zip(xs, picked, strict=True):  # a bound other than the default
                bound = r.get("bound", DEFAULT_BOUND[dtype])
                if bound != DEFAULT_BOUND[dtype]:
                    ax.plot([x - 0.12, x + 0.12], [bound, bound], color=color, lw=1.5)
                    other_bound = True
    for dtype, color in (("float64", "tab:blue"), ("float32", "tab:orange")):
        ax.axhline(DEFAULT_BOUND[dtype], color=color, ls="--", lw=0.8)
    if other_bound:
        ax.plot([], [], color="k", lw=1.5, label="a test's own bound (see below)")
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 1e-3)
    ax.set_xticks(range(len(families)), families, rotation=30, ha="right")
    ax.set_xlim(-0.6, len(families) - 0.4)  # each family's points over its own label
    ax.set_ylabel("max |ours − torch| / max |torch|")
    ax.set_title("Error against torch per op family (dashed: the default bounds; exact = bottom)")
    ax.legend(loc="upper left", fontsize=8)
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
