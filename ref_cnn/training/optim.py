"""Optimizers with torch.optim's update rules [AV-12, IC-13, MB-13].

Each optimizer updates a model's parameter arrays in place from the gradients of its
last backward pass: `opt = SGD(model, lr=0.1); ...; model.backward(dy); opt.step()`.
"""

from __future__ import annotations

import numpy as np

from ref_cnn.nn.module import Module


class Optimizer:
    """Base class of the optimizers: one `step()` updates every parameter of `model` in
    place from `model.grads()`; subclasses implement `update` for one parameter.
    """

    def __init__(self, model: Module, lr: float):
        if not isinstance(model, Module):
            raise TypeError(f"optimizers take a ref_cnn Module, got {type(model).__name__}")
        if lr < 0:
            raise ValueError(f"lr must be non-negative, got {lr}")
        self.model = model
        self.lr = lr
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0

    def step(self) -> None:
        """One update of every parameter of the model from its current gradients."""
        self.steps += 1
        grads = self.model.grads()
        for name, p in self.model.params().items():
            self.update(name, p, grads[name], self.state.setdefault(name, {}))

    def update(self, name, p, g, state) -> None:  # pragma: no cover - abstract
        """Update parameter `p` (named `name`) in place from gradient `g`; `state` is its
        own dict of slots (momentum buffers, moments), kept between steps."""
        raise NotImplementedError

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Flat {"<param>/<slot>": array} for checkpoints, plus the step count."""
        flat = {f"{k}/{slot}": v for k, s in self.state.items() for slot, v in s.items()}
        flat["steps"] = np.array(self.steps)
        return flat

    def load_state_arrays(self, flat: dict[str, np.ndarray]) -> None:
        """Restore the state `state_arrays` returned (from a checkpoint)."""
        self.steps = int(flat["steps"])
        self.state = {}
        for key, value in flat.items():
            if key != "steps":
                name, slot = key.rsplit("/", 1)
                self.state.setdefault(name, {})[slot] = np.array(value)


class SGD(Optimizer):
    """Gradient descent, new = old − lr·gradient [AV-12, IC-13], with torch's momentum,
    dampening, Nesterov and (L2) weight decay:

        g ← g + λ·p;  b ← μ·b + (1 − τ)·g (b = g at the first step);
        g ← g + μ·b (Nesterov) or g ← b;  p ← p − lr·g
    """

    def __init__(self, model, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(model, lr)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and zero dampening, as in torch")
        self.momentum, self.dampening = momentum, dampening
        self.nesterov, self.weight_decay = nesterov, weight_decay

    def update(self, name, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            buf = state["momentum_buffer"]
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g  # AV-12 / IC-13: new = old − lr·gradient


class Adam(Optimizer):
    """Adam (torch's form, bias-corrected); AdamW decouples the weight decay.

    m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
    p ← p − (lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + ε)
    """

    decoupled = False

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(model, lr)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay

    def update(self, name, p, g, state):
        if self.weight_decay:
            if self.decoupled:
                p *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        m = state.setdefault("exp_avg", np.zeros_like(p))
        v = state.setdefault("exp_avg_sq", np.zeros_like(p))
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        t = self.steps
        bias1, bias2 = 1 - self.beta1**t, 1 - self.beta2**t
        denom = np.sqrt(v) / np.sqrt(bias2) + self.eps
        p -= (self.lr / bias1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·λ) before the Adam step."""

    decoupled = True

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(model, lr, betas, eps, weight_decay)
