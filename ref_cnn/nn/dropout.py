"""Dropout, Dropout2d and torchvision's StochasticDepth [SPA-1, SPA-2, SPA-3].

In training mode, for 0 < p < 1, each layer takes a keep-mask m and computes y = x·m/(1 − p)
(`ref_cnn.functional.dropout`, `dropout2d`, `stochastic_depth`); its backward uses the same
m. The mask is the one torch drew inside `ref_cnn.shared_randomness` (`randomness.take`),
else a draw from the layer's `rng` (a NumPy Generator), else from ref_cnn.functional's
default generator (`ref_cnn.functional.manual_seed(seed)` seeds it). In eval mode, and
for p = 0, y = x; p = 1 gives x·0, as torch.
"""

from __future__ import annotations

from ref_cnn import functional as F
from ref_cnn.nn import randomness
from ref_cnn.nn.op_layer import _Stateless


class _Masked(_Stateless):
    """A layer y = op(x, p, …, mask=m) with one mask per forward, kept for the backward."""

    op = "dropout"  # the functional op: F.<op>, F.<op>_backward, F.<op>_mask
    takes_masks = True  # inside shared_randomness, from its torch module (`torch_name`)

    def __init__(self, p=0.5, rng=None, **options):
        if isinstance(p, bool) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p!r}")
        super().__init__(p=p, **options)
        self.rng = rng
        self.mask = None

    def _noise_shape(self, x) -> tuple[int, ...]:
        return x.shape

    def _draw(self, x):
        return getattr(F, f"{self.op}_mask")(x, **self.options, generator=self.rng)

    def forward(self, x):
        self._x, self.mask = x, None
        if self.training and 0 < self.options["p"] < 1:  # the op is random: one mask
            self.mask = randomness.take(self, self._noise_shape(x))
            if self.mask is None:
                self.mask = self._draw(x)
        return getattr(F, self.op)(x, **self.options, training=self.training, mask=self.mask)

    def backward(self, dy):
        self._need_forward(self._x)
        backward = getattr(F, f"{self.op}_backward")
        return backward(dy, self._x, **self.options, training=self.training, mask=self.mask)


class Dropout(_Masked):
    """Dropout [SPA-1], as torch.nn.Dropout: each element kept with probability 1 − p."""

    op = "dropout"


class Dropout2d(_Masked):
    """Spatial dropout [SPA-2], as torch.nn.Dropout2d: each (n, c) feature map kept whole
    with probability 1 − p. Mask shape (N, C, 1, 1)."""

    op = "dropout2d"

    def _noise_shape(self, x):
        return (*x.shape[:2], *(1,) * (x.ndim - 2))


class StochasticDepth(_Masked):
    """Stochastic depth [SPA-3], as torchvision.ops.StochasticDepth(p, mode): "row" keeps
    each sample's branch with probability 1 − p (mask (N, 1, 1, 1)), "batch" the whole
    batch's (mask (1, 1, 1, 1))."""

    op = "stochastic_depth"

    def __init__(self, p, mode, rng=None):
        if mode not in ("row", "batch"):
            raise ValueError(f"StochasticDepth: mode must be 'row' or 'batch', got {mode!r}")
        super().__init__(p, rng, mode=mode)

    def _noise_shape(self, x):
        lead = x.shape[0] if self.options["mode"] == "row" else 1
        return (lead, *(1,) * (x.ndim - 1))
