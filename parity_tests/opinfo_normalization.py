"""OpInfo adapters of the normalisation family (NRM-n), collected by test_opinfo.py.

Each adapter maps an op_db sample onto ref_cnn's signature (torch's names and order) and
returns the output and every gradient by torch's argument names. instance_norm's running
statistics are buffers that torch updates in place; they carry no gradient, and their
update is tested in test_normalization.py (`instance_norm_running`).

`BOUNDS`: the input gradient of the standardising ops and of `normalize` cancels in small
groups (two values: ~ε/σ² of its terms; one value along `dim`: exactly 0). ref_cnn's
gradient is checked against a 200-digit evaluation (`exact_norm`) to the float64 bound, and
torch's is held to that bound scaled by the cancellation, max |terms| / max |result|.
"""

from __future__ import annotations

import exact_norm
import numpy as np
from helpers import x_only_adapter as _plain

import ref_cnn.functional as F

RTOL64 = 1e-10


def _layer_norm(x, args, kw, dy):
    shape, weight, bias = (list(args) + [None, None])[:3]
    eps = kw.get("eps", 1e-5)
    y = F.layer_norm(x, shape, weight, bias, eps)
    dx, dw, db = F.layer_norm_backward(dy, x, shape, weight, bias, eps)
    return y, {"input": dx, "weight": dw, "bias": db}


def _rms_norm(x, args, kw, dy):
    opts = dict(zip(("normalized_shape", "weight", "eps"), args, strict=False)) | kw
    y = F.rms_norm(x, **opts)
    dx, dw = F.rms_norm_backward(dy, x, **opts)
    return y, {"input": dx, "weight": dw}


def _group_norm(x, args, kw, dy):
    opts = dict(zip(("num_groups", "weight", "bias", "eps"), args, strict=False)) | kw
    y = F.group_norm(x, **opts)
    dx, dw, db = F.group_norm_backward(dy, x, **opts)
    return y, {"input": dx, "weight": dw, "bias": db}


_INSTANCE = (
    "running_mean",
    "running_var",
    "weight",
    "bias",
    "use_input_stats",
    "momentum",
    "eps",
)


def _instance_norm(x, args, kw, dy):
    opts = dict(zip(_INSTANCE, args, strict=False)) | kw
    y = F.instance_norm(x, **opts)
    dx, dw, db = F.instance_norm_backward(dy, x, **opts)
    return y, {"input": dx, "weight": dw, "bias": db}


OPS = {
    ("nn.functional.layer_norm", ""): (
        "layer_norm",
        _layer_norm,
        ("normalized_shape", "weight", "bias"),
        ("NRM-1",),
    ),
    ("nn.functional.rms_norm", ""): (
        "rms_norm",
        _rms_norm,
        ("normalized_shape", "weight"),
        ("NRM-2",),
    ),
    ("nn.functional.group_norm", ""): (
        "group_norm",
        _group_norm,
        ("num_groups", "weight", "bias"),
        ("NRM-3",),
    ),
    ("nn.functional.instance_norm", ""): (
        "instance_norm",
        _instance_norm,
        _INSTANCE[:4],
        ("NRM-4",),
    ),
    ("nn.functional.local_response_norm", ""): (
        "local_response_norm",
        _plain(F.local_response_norm, F.local_response_norm_backward),
        (),
        ("NRM-5",),
    ),
    ("nn.functional.normalize", ""): (
        "normalize",
        _plain(F.normalize, F.normalize_backward),
        (),
        ("NRM-6",),
    ),
}


# ------------------------------------------------------------------ cancellation bounds


def _scaled(terms, reference) -> float:
    """The float64 bound scaled by the cancellation: max |terms| / max |result|."""
    size = float(np.nanmax(terms, initial=0.0))
    finite = np.abs(reference[np.isfinite(reference)])
    result = float(finite.max()) if finite.size else 0.0
    return RTOL64 * max(1.0, size / max(result, 1e-300))


def _standardizing(groups):
    """A bound for an op whose gradients come from `standardized_backward` over groups:
    groups(x, args, kw, dy) → (g, x grouped, axes, eps, centred, axes dweight sums over)
    or None. The input gradient cancels in small groups; dweight = Σ dy·x̂ where x − μ
    cancels (a group of one value: x̂ = 0 exactly)."""

    def bound(x, args, kw, dy, name, ours, reference, parity):
        found = groups(x, args, kw, dy) if x.size and name in ("input", "weight") else None
        if found is None:
            return None
        g, xg, axes, eps, centred, summed = found
        if name == "input":
            exact, terms = exact_norm.standardized_backward(g, xg, axes, eps, centred)
        else:
            xhat, xhat_terms = (
                a.reshape(x.shape) for a in exact_norm.standardized(xg, axes, eps, centred)
            )
            exact = np.sum(dy * xhat, axis=summed)
            terms = np.sum(np.abs(dy) * xhat_terms, axis=summed)
        parity(f"d{name}", ours, exact.reshape(ours.shape), witness="200-digit decimal")
        return _scaled(terms, reference)

    return bound


def _trailing(x, args, kw, dy, centred):
    shape = args[0] if isinstance(args[0], tuple | list) else (args[0],)
    weight = args[1] if len(args) > 1 else kw.get("weight")
    eps = kw.get("eps", 1e-5 if centred else None)
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    g = dy if weight is None else dy * weight
    batch = tuple(range(x.ndim - len(shape)))
    return g, x, tuple(range(x.ndim - len(shape), x.ndim)), eps, centred, batch


def _per_channel(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _group_groups(x, args, kw, dy):
    opts = dict(zip(("num_groups", "weight", "bias", "eps"), args, strict=False)) | kw
    w, groups = opts.get("weight"), opts["num_groups"]
    g = dy if w is None else dy * _per_channel(w, x)
    grouped = (a.reshape(a.shape[0], groups, -1) for a in (g, x))
    return *grouped, (2,), opts.get("eps", 1e-5), True, (0, *range(2, x.ndim))


def _instance_groups(x, args, kw, dy):
    opts = dict(zip(_INSTANCE, args, strict=False)) | kw
    if not opts.get("use_input_stats", True):
        return None  # the running statistics: an affine map, nothing cancels
    w = opts.get("weight")
    g = dy if w is None else dy * _per_channel(w, x)
    spatial = tuple(range(2, x.ndim))
    return g, x, spatial, opts.get("eps", 1e-5), True, (0, *spatial)


def _normalize_bound(x, args, kw, dy, name, ours, reference, parity):
    opts = dict(zip(("p", "dim", "eps"), args, strict=False)) | kw
    p, dim, eps = opts.get("p", 2.0), opts.get("dim", 1), opts.get("eps", 1e-12)
    if np.isinf(p):
        return None
    dim %= max(x.ndim, 1)
    exact, terms = exact_norm.normalize_backward(dy, x, p, dim, eps)
    parity("dinput", ours, exact, witness="200-digit decimal")
    return _scaled(terms, reference)


BOUNDS = {
    "layer_norm": _standardizing(lambda x, a, kw, dy: _trailing(x, a, kw, dy, True)),
    "rms_norm": _standardizing(lambda x, a, kw, dy: _trailing(x, a, kw, dy, False)),
    "group_norm": _standardizing(_group_groups),
    "instance_norm": _standardizing(_instance_groups),
    "normalize": _normalize_bound,
}
