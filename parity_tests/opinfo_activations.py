"""OpInfo adapters of the activations family [ACT-1 … ACT-16], collected by test_opinfo.py.

One adapter per op: it takes an OpInfo sample as NumPy (x, positional args, keyword args)
and the upstream gradient dy, and returns ref_cnn's output and its gradients by torch's
argument names. Every op_db entry of these ops runs but `nn.functional.silu`'s "complex"
variant, whose samples are those of the real one in another dtype (ref_cnn is real).

One bound is scaled, with its reason (`BOUNDS`): torch's CPU kernel for hardsigmoid's
gradient multiplies by 1/6 rounded to float32 in float64 too; ref_cnn's exact 1/6 is
checked against torch's gradient with that constant replaced by 1/6, at 1e-10.
"""

from __future__ import annotations

import numpy as np
from helpers import x_only_adapter as _plain

import ref_cnn.functional as F


def _prelu(x, args, kw, dy):
    weight = args[0] if args else kw["weight"]
    dx, dweight = F.prelu_backward(dy, x, weight)
    return F.prelu(x, weight), {"input": dx, "weight": dweight}


# op_db name (and variant) → (short name, adapter, names of the positional args, equations)
OPS = {
    ("nn.functional.relu6", ""): ("relu6", _plain(F.relu6, F.relu6_backward), (), ("ACT-1",)),
    ("nn.functional.hardswish", ""): (
        "hardswish",
        _plain(F.hardswish, F.hardswish_backward),
        (),
        ("ACT-4",),
    ),
    ("nn.functional.hardsigmoid", ""): (
        "hardsigmoid",
        _plain(F.hardsigmoid, F.hardsigmoid_backward),
        (),
        ("ACT-3",),
    ),
    ("nn.functional.silu", ""): ("silu", _plain(F.silu, F.silu_backward), (), ("ACT-5",)),
    ("nn.functional.gelu", ""): (
        "gelu",
        _plain(F.gelu, F.gelu_backward),
        (),
        ("ACT-6", "ACT-7"),
    ),
    ("nn.functional.elu", ""): ("elu", _plain(F.elu, F.elu_backward), (), ("ACT-8",)),
    ("nn.functional.selu", ""): ("selu", _plain(F.selu, F.selu_backward), (), ("ACT-9",)),
    ("nn.functional.celu", ""): ("celu", _plain(F.celu, F.celu_backward), (), ("ACT-10",)),
    ("nn.functional.hardtanh", ""): (
        "hardtanh",
        _plain(F.hardtanh, F.hardtanh_backward),
        (),
        ("ACT-2",),
    ),
    ("nn.functional.softplus", ""): (
        "softplus",
        _plain(F.softplus, F.softplus_backward),
        (),
        ("ACT-11",),
    ),
    ("nn.functional.mish", ""): ("mish", _plain(F.mish, F.mish_backward), (), ("ACT-12",)),
    ("nn.functional.prelu", ""): ("prelu", _prelu, ("weight",), ("ACT-13",)),
    ("nn.functional.logsigmoid", ""): (
        "logsigmoid",
        _plain(F.logsigmoid, F.logsigmoid_backward),
        (),
        ("ACT-14",),
    ),
    ("nn.functional.softsign", ""): (
        "softsign",
        _plain(F.softsign, F.softsign_backward),
        (),
        ("ACT-15",),
    ),
    ("nn.functional.glu", ""): ("glu", _plain(F.glu, F.glu_backward), (), ("ACT-16",)),
}

TORCH_SIXTH = float(np.float32(1 / 6))  # 1.0f/6.0f = 0.1666666716…, torch's constant


def _hardsigmoid_bound(x, args, kw, dy, name, ours, reference, parity):
    """torch's CPU kernel multiplies dy by 1/6 rounded to float32 in float64 too (3.0e-8 off).
    Witness: torch's gradient with its constant replaced by 1/6, at the float64 bound; then
    torch is held to its constant's error."""
    parity("dinput", ours, reference / TORCH_SIXTH / 6, witness="torch with 1/6 exact")
    return 1.01 * abs(6 * TORCH_SIXTH - 1)


# short name → bound(x, args, kw, dy, gradient name, ours, torch's, parity) → rtol
BOUNDS = {"hardsigmoid": _hardsigmoid_bound}
