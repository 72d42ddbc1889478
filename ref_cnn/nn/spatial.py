"""Spatial layers of modern CNNs, as torch.nn's: LPPool2d, PixelShuffle, PixelUnshuffle,
ChannelShuffle and Upsample (nearest, bilinear) over `ref_cnn.functional` [SPA-n]."""

from __future__ import annotations

from ref_cnn.nn.op_layer import OpLayer


class LPPool2d(OpLayer):
    """(Σ over each window of x^p)^(1/p), as torch.nn.LPPool2d."""

    op = "lp_pool2d"

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__(
            norm_type=norm_type, kernel_size=kernel_size, stride=stride, ceil_mode=ceil_mode
        )


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


class Upsample(OpLayer):
    """Resample H and W (mode "nearest" or "bilinear"), as torch.nn.Upsample."""

    op = "interpolate"

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode="nearest",
        align_corners=None,
        recompute_scale_factor=None,
    ):
        super().__init__(
            size=size,
            scale_factor=scale_factor,
            mode=mode,
            align_corners=align_corners,
            recompute_scale_factor=recompute_scale_factor,
        )
