"""The tuning constants of the fast kernels, by name, and `tuned` to change them for a block.

They set how work is cut into blocks and tasks: speed only. Each one is read where the
kernel cuts its work, so a change applies to the next call. The tests run with tiny values
so that even small arrays take the parallel, many-task paths.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

# name -> (module, attribute): the constant and the kernel that reads it
KNOBS: dict[str, tuple[str, str]] = {
    "elementwise_block": ("ref_cnn._fast.threads", "ELEMENTWISE_BLOCK"),
    "min_task_bytes": ("ref_cnn._fast.threads", "MIN_TASK_BYTES"),
    "batch_norm_block_bytes": ("ref_cnn._fast.batchnorm_numpy", "BLOCK_BYTES"),
    "conv_task_column_bytes": ("ref_cnn._fast.conv_numpy", "TASK_COLUMN_BYTES"),
    "conv_column_budget_bytes": ("ref_cnn._fast.conv_numpy", "COLUMN_BUDGET_BYTES"),
    "conv_flip_ratio": ("ref_cnn._fast.conv_numpy", "FLIP_RATIO"),
    "conv_channels_last_min": ("ref_cnn._fast.conv_numpy", "CHANNELS_LAST_MIN"),
    "pool_task_bytes": ("ref_cnn._fast.pool_numpy", "TASK_BYTES"),
    "numba_task_positions": ("ref_cnn._fast.conv_numba", "TASK_POSITIONS"),
    "numba_relu_block": ("ref_cnn._fast.passes_numba", "RELU_BLOCK"),
}


@contextlib.contextmanager
def tuned(**values) -> Iterator[None]:
    """Set the named constants (`KNOBS`) inside the block and restore them after it.

    >>> from ref_cnn._fast.tuning import tuned
    >>> with tuned(elementwise_block=64, pool_task_bytes=1):
    ...     pass
    """
    unknown = sorted(set(values) - set(KNOBS))
    if unknown:
        raise ValueError(f"unknown tuning constant(s) {unknown}; known: {sorted(KNOBS)}")
    saved = []
    try:
        for name, value in values.items():
            module, attr = KNOBS[name]
            mod = importlib.import_module(module)
            saved.append((mod, attr, getattr(mod, attr)))
            setattr(mod, attr, value)
        yield
    finally:
        for mod, attr, value in reversed(saved):
            setattr(mod, attr, value)
