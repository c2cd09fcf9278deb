"""The MNIST loader reads the verified local IDX files and refuses missing or corrupted copies.

Proves: ``load_mnist`` on ../shared/data/mnist gives 60000/10000 uint8 images of shape (1, 28, 28), the known
test label counts, ``input_bits=8``, ``input_scale=1/256``; a missing file and a one-byte corruption (MD5
mismatch) are refused with messages naming the file; an uncompressed copy is checksummed too (the same data
is accepted, a bad magic number or a truncated file is an MD5 mismatch: no unchecked route); the same
files loaded as a user's IDX folder are checked by format only.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from neurodeploy.data import load_dataset
from neurodeploy.data.mnist import MNIST_FILES, MnistError, default_mnist_dir, load_mnist

MNIST_DIR = default_mnist_dir()
needs_mnist = pytest.mark.skipif(MNIST_DIR is None, reason="../shared/data/mnist not present")


@needs_mnist
def test_reads_shared_copy() -> None:
    data = load_mnist(MNIST_DIR)
    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert data.x_train.dtype == np.uint8 and data.y_test.dtype == np.int64
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.input_bits == 8 and data.input_scale == 1 / 256 and data.num_classes == 10
    assert int(data.x_train.max()) == 255


def _copy(tmp_path: Path) -> Path:
    assert MNIST_DIR is not None
    for name in MNIST_FILES:
        shutil.copyfile(MNIST_DIR / name, tmp_path / name)
    return tmp_path


@needs_mnist
def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistError, match="test-labels not found.*t10k-labels-idx1-ubyte") as info:
        load_mnist(folder)
    assert "train-images-idx3-ubyte.gz" in str(info.value)  # lists the expected files
    with pytest.raises(MnistError, match="does not exist"):
        load_mnist(tmp_path / "absent")


@needs_mnist
def test_corrupted_file_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "t10k-images-idx3-ubyte.gz"
    blob = bytearray(path.read_bytes())
    blob[1000] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(MnistError, match=r"t10k-images-idx3-ubyte\.gz: MD5 mismatch"):
        load_mnist(folder)


@needs_mnist
def test_raw_idx_accepted_and_bad_magic_refused(tmp_path: Path) -> None:
    import gzip

    folder = _copy(tmp_path)
    raw = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte").write_bytes(raw)
    assert np.bincount(load_mnist(folder).y_test)[0] == 980
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x03" + raw[4:])
    with pytest.raises(MnistError, match=r"t10k-labels-idx1-ubyte: MD5 mismatch"):
        load_mnist(folder)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(raw[:-3])
    with pytest.raises(MnistError, match=r"t10k-labels-idx1-ubyte: MD5 mismatch"):
        load_mnist(folder)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: expected 10000 data bytes"):
        load_dataset(folder)              # as a user's IDX folder: no checksums, but the format is checked


def test_dispatcher_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar10")
