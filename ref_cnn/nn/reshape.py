"""Layers that only rearrange values: Flatten and Unflatten with any dims (torch.nn's),
torchvision's Permute, PixelShuffle, PixelUnshuffle and ChannelShuffle [SPA-n]. The backward
puts each gradient back where its value came from."""

from __future__ import annotations

import numpy as np

from ref_cnn.nn.op_layer import OpLayer, _Stateless


class Flatten(_Stateless):
    """Merge axes start_dim … end_dim into one, as torch.nn.Flatten (a 0-d input gives (1,)).

    The default flattens every sample to one vector [AV-4, MB-11]: (N, C, H, W) → (N, C·H·W),
    in torch's order (channel, then row, then column).
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__(start_dim=start_dim, end_dim=end_dim)

    def forward(self, x):
        self._x = x
        if x.ndim == 0:
            return x.reshape(1)
        start, end = (d % x.ndim for d in (self.options["start_dim"], self.options["end_dim"]))
        if start > end:
            raise ValueError(f"Flatten: start_dim {start} comes after end_dim {end} for {x.shape}")
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])  # (…, Π merged, …)

    def backward(self, dy):
        self._need_forward(self._x)
        return dy.reshape(self._x.shape)


class Unflatten(_Stateless):
    """Split axis `dim` into `unflattened_size`, as torch.nn.Unflatten."""

    def __init__(self, dim, unflattened_size):
        super().__init__(dim=dim, unflattened_size=tuple(unflattened_size))

    def forward(self, x):
        self._x = x
        d = self.options["dim"] % x.ndim
        return x.reshape(x.shape[:d] + self.options["unflattened_size"] + x.shape[d + 1 :])

    def backward(self, dy):
        self._need_forward(self._x)
        return dy.reshape(self._x.shape)


class Permute(_Stateless):
    """y = x with its axes in the order `dims`, as torchvision.ops.Permute (a copy)."""

    def __init__(self, dims):
        super().__init__(dims=tuple(dims))

    def _dims(self, ndim):
        dims = tuple(d % ndim for d in self.options["dims"])
        if sorted(dims) != list(range(ndim)):
            raise ValueError(
                f"Permute: dims {self.options['dims']} is not a permutation of {ndim} axes"
            )
        return dims

    def forward(self, x):
        self._x = x
        return np.ascontiguousarray(np.transpose(x, self._dims(x.ndim)))

    def backward(self, dy):
        self._need_forward(self._x)
        inverse = np.argsort(self._dims(self._x.ndim))  # axis k of x is axis inverse[k] of y
        return np.ascontiguousarray(np.transpose(dy, inverse))


class PixelShuffle(OpLayer):
    """(N, C·r², H, W) → (N, C, H·r, W·r), as torch.nn.PixelShuffle."""

    op = "pixel_shuffle"

    def __init__(self, upscale_factor):
        super().__init__(upscale_factor=upscale_factor)


class PixelUnshuffle(OpLayer):
    """(N, C, H·r, W·r) → (N, C·r², H, W), as torch.nn.PixelUnshuffle."""

    op = "pixel_unshuffle"

    def __init__(self, downscale_factor):
        super().__init__(downscale_factor=downscale_factor)


class ChannelShuffle(OpLayer):
    """Interleave the channels of `groups` groups (ShuffleNet), as torch.nn.ChannelShuffle."""

    op = "channel_shuffle"

    def __init__(self, groups):
        super().__init__(groups=groups)
