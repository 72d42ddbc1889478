"""OpInfo adapters of the spatial family [SPA-1, SPA-2, SPA-5 … SPA-9], collected by
test_opinfo.py (see its docstring for the table's form).

Random ops: torch's OpInfo runs dropout and dropout2d under `wrapper_set_seed` (torch's
generator seeded with 42 before every call), so the adapter runs the same call again and reads
the keep-mask torch drew back from its output: an element (dropout) or a feature map
(dropout2d) was kept where the output is non-zero. That is exact where the input is non-zero,
which every OpInfo sample is (make_tensor draws uniform values; the adapter asserts it). The
mask is then passed to ref_cnn's forward and backward through `mask=`.

op_db (torch 2.14.1) has no entry for lp_pool2d; test_spatial_ops.py runs torch's ModuleInfo
samples of LPPool2d through `lp_pool2d` instead.
"""

from __future__ import annotations

import numpy as np
from helpers import optional
from helpers import x_only_adapter as _plain

import ref_cnn.functional as F

torch = optional("torch")


def _read_mask(torch_op, x, args, kw, lead):
    """The keep-mask torch's OpInfo call drew, from its output (x ≠ 0 everywhere): one draw
    per index of x's first `lead` axes, of the noise's shape (those axes, then 1s)."""
    from torch.testing._utils import wrapper_set_seed

    assert np.all(x != 0), "a dropped element reads as kept only where x ≠ 0"
    with torch.no_grad():
        y = wrapper_set_seed(torch_op, torch.tensor(x), *args, **kw).numpy()
    kept = (y != 0).reshape(y.shape[:lead] + (-1,)).any(axis=-1)
    return np.asarray(kept).reshape(y.shape[:lead] + (1,) * (y.ndim - lead))


def _random(forward, backward, torch_name, feature):
    def run(x, args, kw, dy):
        torch_op = getattr(torch.nn.functional, torch_name)
        mask = _read_mask(torch_op, x, args, kw, 2 if feature else x.ndim)
        y = forward(x, *args, **kw, mask=mask)
        return y, {"input": backward(dy, x, *args, **kw, mask=mask)}

    return run


def _dropout2d_run(x, args, kw, dy):
    import warnings

    with warnings.catch_warnings():  # a 3-D sample: torch and ref_cnn warn that it is (N, C, L)
        warnings.simplefilter("ignore", UserWarning)
        return _random(F.dropout2d, F.dropout2d_backward, "dropout2d", True)(x, args, kw, dy)


_INTERPOLATE = _plain(F.interpolate, F.interpolate_backward)


def _mode(fn, mode, align_corners=None):
    """torch's deprecated upsample_nearest / upsample_bilinear: interpolate with a fixed mode."""

    def run(*args, **kw):
        return fn(*args, **kw, mode=mode, align_corners=align_corners)

    return run


OPS = {
    ("nn.functional.channel_shuffle", ""): (
        "channel_shuffle",
        _plain(F.channel_shuffle, F.channel_shuffle_backward),
        (),
        ("SPA-5",),
    ),
    ("nn.functional.pixel_shuffle", ""): (
        "pixel_shuffle",
        _plain(F.pixel_shuffle, F.pixel_shuffle_backward),
        (),
        ("SPA-6",),
    ),
    ("nn.functional.pixel_unshuffle", ""): (
        "pixel_unshuffle",
        _plain(F.pixel_unshuffle, F.pixel_unshuffle_backward),
        (),
        ("SPA-7",),
    ),
    ("nn.functional.interpolate", "nearest"): (
        "interpolate-nearest",
        _INTERPOLATE,
        (),
        ("SPA-8",),
    ),
    ("nn.functional.interpolate", "nearest-exact"): (
        "interpolate-nearest-exact",
        _INTERPOLATE,
        (),
        ("SPA-8",),
    ),
    **{
        ("nn.functional.interpolate", mode): (f"interpolate-{mode}", _INTERPOLATE, (), ("SPA-9",))
        for mode in ("linear", "bilinear", "trilinear")
    },
    ("nn.functional.interpolate", "area"): ("interpolate-area", _INTERPOLATE, (), ("SPA-10",)),
    ("nn.functional.upsample_nearest", ""): (
        "upsample_nearest",
        _plain(_mode(F.interpolate, "nearest"), _mode(F.interpolate_backward, "nearest")),
        (),
        ("SPA-8",),
    ),
    ("nn.functional.upsample_bilinear", ""): (  # torch: bilinear with align_corners=True
        "upsample_bilinear",
        _plain(
            _mode(F.interpolate, "bilinear", True), _mode(F.interpolate_backward, "bilinear", True)
        ),
        (),
        ("SPA-9",),
    ),
    ("nn.functional.dropout", ""): (
        "dropout",
        _random(F.dropout, F.dropout_backward, "dropout", False),
        (),
        ("SPA-1",),
    ),
    ("nn.functional.dropout2d", ""): ("dropout2d", _dropout2d_run, (), ("SPA-2",)),
}
