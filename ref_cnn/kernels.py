"""Which kernels run: NumPy's (the default) or compiled ones (numba, optional).

The compiled kernels cover conv2d (`functional._conv_numba`), and training-mode batch norm,
ReLU and max-pooling (`functional._passes_numba`); install them with
``pip install "ref_cnn[fast]"``. Both sets compute the same equations, and the tests hold
both equal to torch. NumPy's kernels are the faster ones on a few cores. The compiled ones
keep scaling on many cores, where NumPy's calls queue for the GIL and every pass over memory
is a call of its own. The choice is, in this order of precedence:

1. the last `set_kernels(name)`;
2. the environment variable ``REF_CNN_KERNELS``;
3. ``"numpy"``.

Convolutions with groups > 1 run on NumPy's kernels either way.

Measured (float32 fwd+bwd, ratio to torch, one process alternating both sets and torch;
BENCHMARKS.md) on a 16-core Xeon:
- 16 threads: layer (c) 5.05 → 2.12, (d) 2.45 → 1.61, ResNet-18 (batch 8) 4.20 → 2.28
  (a second run: 5.40 → 2.32, 3.13 → 1.81, 4.22 → 2.41);
- 8 threads: ResNet-18 3.56 → 2.70.
On 2 cores the compiled kernels are slower (BENCHMARKS.md, "Compiled kernels").
The two sets add in different orders, so their results differ by rounding (float64: about
1e-15 relative). Each set on its own gives the same results for every thread count.
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
    """Run on the kernels `name` from now on: "numpy" or "numba"."""
    global _choice
    name = _checked(name, "the kernels")
    if name == "numba" and not numba_available():
        raise ImportError(f"the compiled kernels need numba: {_INSTALL}")
    _choice = name


def get_kernels() -> str:
    """The kernels in use: "numpy" or "numba" (see the module's precedence list)."""
    if _choice is not None:
        return _choice
    env = os.environ.get(ENV_VAR, "").strip()
    return _checked(env, f"the environment variable {ENV_VAR}") if env else "numpy"


def compiled() -> bool:
    """Whether the compiled kernels run (where they cover the op)."""
    if get_kernels() != "numba":
        return False
    if not numba_available():
        raise ImportError(f"{ENV_VAR}=numba, but the compiled kernels need numba: {_INSTALL}")
    return True
