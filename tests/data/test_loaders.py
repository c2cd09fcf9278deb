"""The user's own datasets: IDX folders, .npz files and image folders load, encode and fingerprint as
documented, and every kind of bad data is refused with one line naming the file.

Proves: (1) an IDX folder (gzipped or raw) reads as uint8 (n, 1, 12, 12) with the 8-bit encoding and the same
fingerprint either way; a truncated file or a bad magic number is refused naming the file; (2) an .npz of
floats is quantised to --input-bits with step max/(2**bits - 1) from the training set, the recorded step
reproduces the encoding, class names are kept; missing keys, object arrays, label/shape mismatches,
negative inputs, a class without training samples are refused naming the file; (3) an image folder reads
grey or RGB, resizes odd sizes by the stated rule and refuses empty class folders, non-image files and
unknown test classes; (4) the fingerprint changes when one label changes and survives ``subset``.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from synthetic_data import CLASSES, idx_bytes, pattern_images, write_idx, write_image_folder, write_npz

from neurodeploy.data import load_dataset


def test_idx_folder_gz_and_raw_agree(tmp_path: Path) -> None:
    gz = load_dataset(write_idx(tmp_path / "gz"))
    raw = load_dataset(write_idx(tmp_path / "raw", gz=False))
    assert gz.x_train.shape == (150, 1, 12, 12) and gz.x_train.dtype == np.uint8 and gz.num_classes == 3
    assert gz.encoding == "uint8" and gz.input_bits == 8 and gz.input_scale == 1 / 256
    assert gz.fingerprint == raw.fingerprint and gz.name == str((tmp_path / "gz").resolve())


def test_idx_truncated_and_bad_magic_refused(tmp_path: Path) -> None:
    folder = write_idx(tmp_path / "d", gz=False)
    path = folder / "t10k-images-idx3-ubyte"
    blob = path.read_bytes()
    path.write_bytes(blob[:-5])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: expected 8640 data bytes .*truncated"):
        load_dataset(folder)
    path.write_bytes(blob)
    (folder / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 16)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte: bad magic number 2051"):
        load_dataset(folder)
    (folder / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="train-labels not found"):
        load_dataset(folder)


def test_idx_label_count_mismatch_named(tmp_path: Path) -> None:
    folder = write_idx(tmp_path / "d", gz=False)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte: 60 images but t10k-labels-idx1-ubyte has 7"):
        load_dataset(folder)


def test_npz_float_is_quantised_with_recorded_step(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "f.npz", as_float=True)
    data = load_dataset(path, input_bits=6)
    peak = float(np.load(path)["x_train"].max())
    assert data.encoding == "quantised" and data.input_bits == 6 and data.input_scale == 2.0 ** -6
    assert data.input_step == pytest.approx(peak / 63) and int(data.x_train.max()) == 63
    assert data.class_names == CLASSES and data.x_train.shape == (150, 1, 12, 12)
    again = load_dataset(path, input_bits=6, input_step=data.input_step)
    assert again.fingerprint == data.fingerprint
    assert load_dataset(path, input_bits=8).fingerprint != data.fingerprint
    contract = data.contract()
    assert contract["input_encoding"] == {"kind": "quantised", "step": data.input_step}
    assert contract["class_names"] == list(CLASSES) and contract["dataset_sha256"] == data.fingerprint


def test_npz_validation_split_is_kept(tmp_path: Path) -> None:
    x_val, y_val = pattern_images(30, seed=5)
    data = load_dataset(write_npz(tmp_path / "v.npz", x_val=x_val, y_val=y_val))
    assert data.x_val is not None and data.x_val.shape == (30, 1, 12, 12) and data.y_val is not None


@pytest.mark.parametrize(("change", "message"), [
    ({"y_test": None}, r"missing array 'y_test'"),
    ({"x_train": np.array([object()] * 150)}, "object arrays are refused"),
    ({"y_train": np.zeros(149, np.int64)}, r"y_train has shape \(149,\); expected \(150,\)"),
    ({"y_train": np.full(150, 0.5)}, "y_train has dtype float64"),
    ({"y_test": np.full(60, 3)}, "y_test has label 3, but there are only 3 classes"),
    ({"x_test": np.zeros((60, 1, 10, 12), np.uint8)}, r"x_test samples have shape \(1, 10, 12\)"),
    ({"x_train": -np.ones((150, 12, 12), np.float32)}, "negative values"),
    ({"y_train": np.arange(150) % 2}, "class 2 has 0 training samples"),
    ({"x_val": np.zeros((3, 12, 12), np.uint8)}, "x_val and y_val must be given together"),
    ({"extra": np.zeros(3)}, "unexpected array 'extra'"),
])
def test_npz_bad_data_refused_naming_the_file(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    x_tr, y_tr = pattern_images(150, seed=0)
    x_te, y_te = pattern_images(60, seed=1)
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te, "class_names": np.array(CLASSES)}
    arrays.update(change)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(ValueError, match=message) as info:
        load_dataset(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_not_an_npz_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.npz: not a readable .npz archive"):
        load_dataset(path)


def test_image_folder_grey_rgb_and_resize(tmp_path: Path) -> None:
    from PIL import Image

    grey = load_dataset(write_image_folder(tmp_path / "grey"))
    assert grey.x_train.shape == (150, 1, 12, 12) and grey.class_names == tuple(sorted(CLASSES))
    assert grey.encoding == "uint8" and grey.x_test.shape == (60, 1, 12, 12)
    rgb_root = write_image_folder(tmp_path / "rgb", rgb=True)
    Image.new("RGB", (20, 16), (255, 0, 0)).save(rgb_root / "train" / "vertical" / "odd.jpg")
    rgb = load_dataset(rgb_root)
    assert rgb.x_train.shape == (151, 3, 12, 12)
    assert rgb.notes == (f"{rgb_root / 'train'}: resized 1 images to 12x12 (bilinear)",)


@pytest.mark.parametrize("defect", ["empty", "text", "corrupt", "unknown-class"])
def test_image_folder_defects_refused(tmp_path: Path, defect: str) -> None:
    root = write_image_folder(tmp_path / "d", n_train=30, n_test=9)
    if defect == "empty":
        bad = root / "train" / "zigzag"
        bad.mkdir()
    elif defect == "text":
        bad = root / "train" / "vertical" / "notes.txt"
        bad.write_text("hello")
    elif defect == "corrupt":
        bad = root / "test" / "vertical" / "0001.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    else:
        bad = root / "test" / "zigzag"
        bad.mkdir()
        write_image_folder(tmp_path / "other", n_train=3, n_test=3)
        (tmp_path / "other" / "test" / "vertical" / "0001.png").rename(bad / "0.png")
    with pytest.raises(ValueError) as info:
        load_dataset(root)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_fingerprint_tracks_content_and_survives_subset(tmp_path: Path) -> None:
    folder = write_idx(tmp_path / "d", gz=False)
    before = load_dataset(folder)
    small = before.subset(40, seed=0)
    assert len(small.y_train) == 40 and small.fingerprint == before.fingerprint
    labels = folder / "t10k-labels-idx1-ubyte"
    blob = bytearray(labels.read_bytes())
    blob[-1] = (blob[-1] + 1) % 3
    labels.write_bytes(bytes(blob))
    assert load_dataset(folder).fingerprint != before.fingerprint


def test_gzip_garbage_refused(tmp_path: Path) -> None:
    folder = write_idx(tmp_path / "d")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"")[:5])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz: not a valid gzip file"):
        load_dataset(folder)
