"""The layer base class: parameters, gradients, one forward cache, train/eval.

The maths stays in `ref_cnn.functional`; a layer holds its parameters (named as in torch),
the gradients its last backward pass produced, and what that backward pass needs from
the last forward pass, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Module:
    """Base class. Subclasses set parameters with `self.register(name, array)`, children
    with `self.add(name, module)`, and implement `forward(x)` and `backward(dy)`."""

    def __init__(self) -> None:
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._children: dict[str, Module] = {}
        self.training = True

    # ----------------------------------------------------------------- structure
    def register(self, name: str, value: np.ndarray | None) -> None:
        """A learnable parameter (None: absent, as torch's `bias=False`)."""
        if value is None:
            return
        self._params[name] = value
        self._grads[name] = np.zeros_like(value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """State that is not learned (BatchNorm's running statistics), named as in torch."""
        self._buffers[name] = value

    def add(self, name: str, module: Module) -> Module:
        """Add a child module under `name` (its parameters become "name.weight", …); returns it."""
        self._children[name] = module
        return module

    def children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct children, in the order they were added."""
        return iter(self._children.items())

    def _named(self, attr: str, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name, value in getattr(self, attr).items():
            yield prefix + name, value
        for name, child in self._children.items():
            yield from child._named(attr, f"{prefix}{name}.")

    def params(self) -> dict[str, np.ndarray]:
        """{torch parameter name: array}; the arrays themselves (optimizers update them in place)."""
        return dict(self._named("_params"))

    def grads(self) -> dict[str, np.ndarray]:
        """{torch parameter name: gradient} from the last backward pass."""
        return dict(self._named("_grads"))

    def buffers(self) -> dict[str, np.ndarray]:
        """{torch buffer name: array}, e.g. "bn1.running_mean"."""
        return dict(self._named("_buffers"))

    def zero_grad(self) -> None:
        """Set every gradient of this module and its children to 0."""
        for g in self.grads().values():
            g[...] = 0

    def train(self, mode: bool = True) -> Module:
        """Training mode (batch statistics, dropout on) or, with mode=False, eval mode."""
        self.training = mode
        for child in self._children.values():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Eval mode (running statistics, dropout off): `train(False)`; returns self."""
        return self.train(False)

    def astype(self, dtype) -> Module:
        """Cast every parameter (and gradient) to `dtype` in place; returns self."""
        for store in self._all_modules():
            for name in store._params:
                store._params[name] = store._params[name].astype(dtype)
                store._grads[name] = np.zeros_like(store._params[name])
        return self

    def _all_modules(self) -> Iterator[Module]:
        yield self
        for child in self._children.values():
            yield from child._all_modules()

    # ----------------------------------------------------------------- computation
    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """y for input x; keeps what `backward` needs (one forward cache)."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """∂E/∂x for dy = ∂E/∂y after `forward`; fills the parameters' gradients."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _keep_grads(self, **grads) -> None:
        """Store a backward pass's parameter gradients, each under its parameter if the
        layer has it (no "bias" entry for `bias=False`, no "weight" without affine)."""
        for name, g in grads.items():
            if name in self._params:
                self._grads[name] = g

    def _need_forward(self, cache) -> None:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.extra_repr().items())
        head = f"{type(self).__name__}({inner})"
        if not self._children:
            return head
        body = "\n".join(
            f"  ({k}): " + repr(c).replace("\n", "\n  ") for k, c in self._children.items()
        )
        return f"{head[:-1]}\n{body}\n)" if inner else f"{type(self).__name__}(\n{body}\n)"

    def extra_repr(self) -> dict:
        """{option: value} shown by repr(), as torch's extra_repr."""
        return {}
