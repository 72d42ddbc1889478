"""AV's experiment end to end, in NumPy and (as the witness) in torch [AV-15, AV-12].

200 real MNIST digits in [0, 1], label 1 if the digit is > 4; 3 filters of 5×5 drawn
uniform [0, 1), no conv bias, conv → σ → flatten (1728) → dense (1, no bias, as the
article's code) → σ → E = Σ (y′ − O)²/2, full-batch gradient descent.

Two settings, named plainly:

- "article": the article's maths exactly, with its U[0, 1) initialisation. Z2 = Wᵀ·A1
  sums 1728 positive terms (≈ 400), so in float64 σ(Z2) rounds to exactly 1.0 for every
  image: O(1 − O) = 0, every gradient is exactly zero and nothing ever changes (E stays
  at 0.5 × the number of 0-labels). The article's code hides this with a standardisation
  step it never differentiates (see `ref_cnn.articles.errata`).
- "standardized": the same network with the article's standardisation of Z2 over the
  batch, z = (Z2 − mean)/std, kept in the forward pass *and* differentiated. This is the
  faithful variant that trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ref_cnn.articles.av_network import av_backward, av_forward, av_loss

SETTINGS = {"article": False, "standardized": True}  # name → standardise Z2
DEFAULT_LR = {"article": 0.5, "standardized": 0.5}


def initial_params(seed: int = 0, n_filters: int = 3, k: int = 5, size: int = 28, dtype=np.float64):
    """AV's initialisation: filters (F, 1, k, k) and dense W (F·(n−k+1)², 1), all U[0, 1)."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(size=(n_filters, 1, k, k)).astype(dtype)
    w = rng.uniform(size=(n_filters * (size - k + 1) ** 2, 1)).astype(dtype)
    return f, w


@dataclass
class Trajectory:
    """Loss before every step, and the parameters after the last one."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)  # ‖(∂E/∂f, ∂E/∂W)‖ at every step
    f: np.ndarray | None = None
    w: np.ndarray | None = None
    accuracy: float = float("nan")


def train_numpy(x, y, f, w, steps: int, lr: float, standardized: bool, progress=None) -> Trajectory:
    """Full-batch gradient descent with ref_cnn's functional ops (copies f and w)."""
    f, w = f.copy(), w.copy()
    run = Trajectory()
    for _ in range(steps):
        fwd = av_forward(x, f, w, None, standardized)
        run.losses.append(float(av_loss(fwd, y)))
        df, dw, _ = av_backward(fwd, y, f, w)
        run.grad_norms.append(float(np.sqrt(np.sum(df**2) + np.sum(dw**2))))
        f -= lr * df  # AV-12: new = old − lr·gradient
        w -= lr * dw
        if progress is not None:
            progress.update(1)
    fwd = av_forward(x, f, w, None, standardized)
    run.losses.append(float(av_loss(fwd, y)))
    run.f, run.w = f, w
    run.accuracy = float(np.mean((fwd.o > 0.5) == (y > 0.5)))
    return run


def train_torch(x, y, f, w, steps: int, lr: float, standardized: bool) -> Trajectory:
    """The same run built from torch ops and torch.optim.SGD, from the same start."""
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    ft = torch.tensor(f, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    opt = torch.optim.SGD([ft, wt], lr=lr)

    def forward():
        a1 = torch.sigmoid(torch.nn.functional.conv2d(xt, ft)).flatten(1)
        z2 = a1 @ wt
        if standardized:
            z2 = (z2 - z2.mean()) / z2.std(unbiased=False)
        return torch.sigmoid(z2)

    run = Trajectory()
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * torch.sum((yt - forward()) ** 2)
        run.losses.append(loss.item())
        loss.backward()
        run.grad_norms.append(float(torch.sqrt(ft.grad.pow(2).sum() + wt.grad.pow(2).sum())))
        opt.step()
    with torch.no_grad():
        o = forward()
        run.losses.append(float(0.5 * torch.sum((yt - o) ** 2)))
        run.accuracy = float(((o > 0.5) == (yt > 0.5)).double().mean())
    run.f, run.w = ft.detach().numpy().copy(), wt.detach().numpy().copy()
    return run


def output_saturation(x, f, w) -> dict:
    """What the article's U[0, 1) start does to the output sigmoid, in float64."""
    fwd = av_forward(x, f, w)
    return {
        "min_z2": float(fwd.z2.min()),
        "max_z2": float(fwd.z2.max()),
        "fraction_o_exactly_1": float(np.mean(fwd.o == 1.0)),
        "max_o_times_1_minus_o": float(np.max(fwd.o * (1 - fwd.o))),
    }
