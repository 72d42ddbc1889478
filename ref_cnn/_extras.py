"""Optional dependencies: import one, or raise an ImportError that names the extra to install.

Core ref_cnn (`functional`, `nn`, `literal`, `augment`, ...) needs numpy, scipy and threadpoolctl
(and runs without threadpoolctl too, its products then one after another on BLAS's threads).
torch and torchvision come with `pip install "ref_cnn[torch]"`; tqdm, matplotlib, mlxtend
and torchvision's datasets with `pip install "ref_cnn[train]"`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA = {
    "torch": "torch",
    "torchvision": "torch",
    "matplotlib": "train",
    "tqdm": "train",
    "mlxtend": "train",
}


class MissingExtra(ImportError):
    """An optional dependency that does not import; its message is the one-line fix."""


def require(module: str, what: str) -> ModuleType:
    """`import module` for `what` (a phrase: "from_torch"), or a MissingExtra naming the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = EXTRA.get(top, "dev")
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MissingExtra(
            f'{what} needs {top}, which does not import here ({reason}): pip install "ref_cnn[{extra}]"'
        ) from exc
