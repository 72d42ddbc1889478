"""Training checkpoints: `.npz` files that load without unpickling anything and are
written atomically (temporary file, then rename), so a killed run keeps its last one."""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ref_cnn._io import write_atomic

CHECKPOINT_VERSION = 1


@dataclass
class State:
    epoch: int = 0
    history: list[dict] = field(default_factory=list)


def save_checkpoint(path: Path, cfg, model, opt, state) -> None:
    """Write the model's parameters and buffers, the optimizer's state, the config, the epoch
    and the history to `path` (an .npz written to a temporary file and renamed).
    """
    arrays = {f"param/{k}": v for k, v in model.params().items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers().items()})
    arrays.update({f"optim/{k}": v for k, v in opt.state_arrays().items()})
    meta = {
        "version": CHECKPOINT_VERSION,
        "config": cfg.__dict__,
        "epoch": state.epoch,
        "history": state.history,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    write_atomic(path, lambda fh: np.savez(fh, **arrays))


def load_checkpoint(path: Path, model, opt) -> tuple[dict, State]:
    """Restore parameters and optimizer state in place; never unpickles anything."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path}: not a readable ref_cnn checkpoint ({exc})") from exc
    if "meta" not in arrays:
        raise ValueError(f"{path}: not a ref_cnn checkpoint (no meta entry)")
    meta = json.loads(str(arrays["meta"]))
    if meta.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path}: checkpoint version {meta.get('version')} is not {CHECKPOINT_VERSION}"
        )
    for store, prefix in ((model.params(), "param/"), (model.buffers(), "buffer/")):
        for name, value in store.items():
            saved = arrays.get(prefix + name)
            if saved is None or saved.shape != value.shape:
                raise ValueError(
                    f"{path}: {prefix}{name} is missing or has the wrong shape for model {meta['config']['model']}"
                )
            value[...] = saved
    opt.load_state_arrays(
        {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
    )
    return meta, State(meta["epoch"], meta["history"])
