"""Data: the embedded subset, torchvision's readers on IDX files the test writes, the
Debian Fashion-MNIST folder when installed, and seeded splits [MB-15, AV-15]."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from ref_cnn.training import data

eq = pytest.mark.equation


def write_idx(path: Path, array: np.ndarray, magic: int, gz: bool = False) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open if gz else open)(path, "wb") as fh:  # closed: gzip flushes on close
        fh.write(payload)


def make_mnist(
    root: Path, n: int = 12, gz: bool = False, flat: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28))
    labels = rng.integers(0, 10, n)
    raw = root if flat else root / "MNIST" / "raw"
    suffix = ".gz" if gz else ""
    for prefix in ("train", "t10k"):
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images, 2051, gz)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels, 2049, gz)
    return images, labels


@pytest.mark.parametrize("layout", ["torchvision-root", "flat-folder-gz"])
@pytest.mark.torchvision
def test_good_idx_files_load_through_torchvision(tmp_path, layout):
    flat = layout == "flat-folder-gz"
    images, labels = make_mnist(tmp_path / "root", gz=flat, flat=flat)
    ds = data.torchvision_dataset("mnist", root=tmp_path / "root", cache=tmp_path / "cache")
    np.testing.assert_array_equal(ds.x[:, 0], images / 255.0)
    np.testing.assert_array_equal(ds.y, labels)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda b: b[:-100], "truncated", id="truncated"),
        pytest.param(lambda b: b[:3], "no header", id="truncated-header"),
        pytest.param(
            lambda b: (2049).to_bytes(4, "big") + b[4:], "wrong magic number", id="wrong-magic"
        ),
        pytest.param(lambda b: b + b"xx", "trailing bytes", id="trailing-bytes"),
    ],
)
@pytest.mark.torchvision
def test_damaged_idx_file_gives_an_error_naming_the_file(tmp_path, damage, message):
    make_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=f"{path}.*{message}|{path}: {message}"):
        data.torchvision_dataset("mnist", root=tmp_path)


@pytest.mark.torchvision
def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="MNIST not found under"):
        data.torchvision_dataset("mnist", root=tmp_path)
    with pytest.raises(ValueError, match="name must be one of"):
        data.torchvision_dataset("cifar", root=tmp_path)


@pytest.mark.skipif(
    data.default_root("fashion-mnist") is None,
    reason="Debian's dataset-fashion-mnist is not installed",
)
@pytest.mark.torchvision  # data.torchvision_dataset reads it through torchvision
def test_debian_fashion_mnist_is_found_automatically(tmp_path):
    test = data.torchvision_dataset("fashion-mnist", train=False, cache=tmp_path)
    assert test.x.shape == (10000, 1, 28, 28) and test.x.max() <= 1.0
    assert np.bincount(test.y).tolist() == [1000] * 10


@eq("AV-15")
@pytest.mark.train
def test_mnist_subset_is_shuffled_reproducibly():
    a, b, c = data.mnist_subset(0), data.mnist_subset(0), data.mnist_subset(1)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert np.bincount(a.y).tolist() == [500] * 10
    assert len(set(a.y[:30])) > 5  # not sorted by class any more


@eq("MB-15")
def test_split_is_seeded_disjoint_and_covers_everything():
    parts = data.split(5000, (0.7, 0.15, 0.15), seed=3)
    assert {k: len(v) for k, v in parts.items()} == {"train": 3500, "dev": 750, "test": 750}
    joined = np.concatenate(list(parts.values()))
    assert len(np.unique(joined)) == 5000
    again = data.split(5000, (0.7, 0.15, 0.15), seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    assert not np.array_equal(parts["test"], data.split(5000, seed=4)["test"])
    with pytest.raises(ValueError, match="summing to 1"):
        data.split(10, (0.5, 0.5, 0.5))
