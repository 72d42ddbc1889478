"""Upsample, as torch.nn.Upsample, over `ref_cnn.functional.interpolate` [SPA-n]."""

from __future__ import annotations

from ref_cnn.nn.op_layer import OpLayer


class Upsample(OpLayer):
    """Resample the spatial axes, as torch.nn.Upsample: every mode `functional.interpolate`
    has (nearest, nearest-exact, bilinear for (N, C, H, W); linear for (N, C, L); trilinear
    for (N, C, D, H, W); area)."""

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
