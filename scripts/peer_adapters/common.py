"""What every adapter shares: option checks and the `adapter` wrapper."""

from __future__ import annotations

import functools
import inspect

import numpy as np


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def only(what: str, ok: bool) -> None:
    if not ok:
        raise NotImplementedError(what)


def adapter(fn):
    """What no peer here offers, declined for every adapter: torch's unbatched (C, H, W)
    inputs and, unless the adapter takes it, avg_pool2d's divisor_override."""
    params = inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapped(*args, **kw):
        x = dict(zip(params, args, strict=False)).get("x")  # args may stop before x
        only("unbatched (C, H, W) input", x is None or np.ndim(x) == 4)
        if "divisor_override" not in params:
            only("divisor_override", kw.pop("divisor_override", None) is None)
        return fn(*args, **kw)

    return wrapped
