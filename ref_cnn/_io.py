"""Files are written whole or not at all: a temporary file in the same folder, then rename."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent  # the clone's root, or site-packages in an installed package


def in_clone() -> bool:
    """Whether ref_cnn runs from a clone of its repository (not an installed package)."""
    return (REPO / "pyproject.toml").is_file() and (REPO / "parity_tests").is_dir()


def write_atomic(path: Path, write: Callable[[object], None] | bytes | str) -> Path:
    """Write `path` through a temporary sibling and `os.replace`, so a crash or a kill
    mid-write leaves the previous file (if any) intact.

    `write` is the content (str or bytes) or a function that writes to the open binary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(write, str):
                fh.write(write.encode("utf-8"))
            elif isinstance(write, bytes):
                fh.write(write)
            else:
                write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # fault injection for the kill test: stop here, the new content written but not renamed
        pause = float(os.environ.get("REF_CNN_PAUSE_BEFORE_RENAME", "0") or 0)
        if pause > 0:
            time.sleep(pause)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
