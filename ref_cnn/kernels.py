"""Which conv2d kernels run: NumPy's (the default) or compiled ones (numba, optional).

Both compute the same sums (IC-4 … IC-7), and the tests hold both equal to torch. The NumPy
kernels (`functional._conv_kernels`) are the faster ones on a few cores. The compiled ones
(`functional._conv_numba`, after ``pip install "ref_cnn[fast]"``) keep scaling on many cores,
where NumPy's calls queue for the GIL. The choice is, in this order of precedence:

1. the last `set_kernels(name)`;
2. the environment variable ``REF_CNN_KERNELS``;
3. ``"numpy"``.

Layers the compiled kernels don't cover run on NumPy's kernels either way: groups > 1, the
input gradient at stride > 1, and late layers whose kernel matrix outweighs their columns.

Measured (scripts/bench.py rows, float32 fwd+bwd, ratio to torch, BENCHMARKS.md): on 16
threads of a 16-core Xeon, layer (c) 4.37 → 2.09 and (d) 2.91 → 1.70, ResNet-18 3.96 → 4.02;
on 4 threads the compiled kernels were 0.9–1.2× NumPy's time, on the 2-core VM 1.2×.
The two kernel sets add in different orders, so their results differ by rounding (float64:
about 1e-15 relative); each one on its own gives the same results for every thread count.
"""

from __future__ import annotations

import functools
import importlib
import os

ENV_VAR = "REF_CNN_KERNELS"
CHOICES = ("numpy", "numba")
_INSTALL = 'pip install "ref_cnn[fast]"'

_choice: str | None = None


def _checked(name, source: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{source} must be a str, one of {CHOICES}; got {name!r}")
    if name not in CHOICES:
        raise ValueError(f"{source} must be one of {CHOICES}, got {name!r}")
    return name


@functools.cache
def numba_available() -> bool:
    """Whether the compiled kernels load (numba imports, and scipy's BLAS for its np.dot)."""
    try:
        importlib.import_module("ref_cnn.functional._conv_numba")
    except ImportError:
        return False
    return True


def set_kernels(name: str) -> None:
    """Run conv2d on the kernels `name` from now on: "numpy" or "numba"."""
    global _choice
    name = _checked(name, "the kernels")
    if name == "numba" and not numba_available():
        raise ImportError(f"the compiled kernels need numba: {_INSTALL}")
    _choice = name


def get_kernels() -> str:
    """The kernels conv2d runs on: "numpy" or "numba" (see the module's precedence list)."""
    if _choice is not None:
        return _choice
    env = os.environ.get(ENV_VAR, "").strip()
    return _checked(env, f"the environment variable {ENV_VAR}") if env else "numpy"


def compiled() -> bool:
    """Whether conv2d runs on the compiled kernels (where they cover the layer)."""
    if get_kernels() != "numba":
        return False
    if not numba_available():
        raise ImportError(f"{ENV_VAR}=numba, but the compiled kernels need numba: {_INSTALL}")
    return True
