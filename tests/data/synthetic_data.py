"""Small generated datasets for the loader and CLI tests: three easy-to-learn patterns (a horizontal bar, a
vertical bar, a diagonal) on noisy 12x12 greyscale images, written as IDX files, an .npz or an image folder."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

CLASSES = ("horizontal", "vertical", "diagonal")


def pattern_images(n: int, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images ``(n, size, size)`` and their labels 0..2 (balanced)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(CLASSES)
    x = rng.integers(0, 60, size=(n, size, size))
    for i, label in enumerate(y):
        k = int(rng.integers(2, size - 2))
        if label == 0:
            x[i, k - 1:k + 1, :] += 180
        elif label == 1:
            x[i, :, k - 1:k + 1] += 180
        else:
            idx = np.arange(size)
            x[i, idx, idx] += 180
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file holding a uint8 array."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_idx(folder: Path, n_train: int = 150, n_test: int = 60, gz: bool = True) -> Path:
    """The four MNIST-named IDX files of a pattern dataset in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": pattern_images(n_train, seed=0), "t10k": pattern_images(n_test, seed=1)}
    for prefix, (x, y) in parts.items():
        for kind, arr, nd in (("images", x, 3), ("labels", y.astype(np.uint8), 1)):
            name = f"{prefix}-{kind}-idx{nd}-ubyte"
            blob = idx_bytes(arr)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(blob))
            else:
                (folder / name).write_bytes(blob)
    return folder


def write_npz(path: Path, n_train: int = 150, n_test: int = 60, as_float: bool = False, **extra: np.ndarray) -> Path:
    """A pattern dataset as .npz (floats in [0, 1] with ``as_float``); ``extra`` arrays are added or replace."""
    x_tr, y_tr = pattern_images(n_train, seed=0)
    x_te, y_te = pattern_images(n_test, seed=1)
    if as_float:
        x_tr, x_te = x_tr.astype(np.float32) / 255, x_te.astype(np.float32) / 255
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
              "class_names": np.array(CLASSES), **extra}
    np.savez(path, **arrays)
    return path


def write_image_folder(root: Path, n_train: int = 150, n_test: int = 60, rgb: bool = False) -> Path:
    """A pattern dataset as ``root/{train,test}/<class>/<i>.png``."""
    from PIL import Image

    for split, (x, y) in (("train", pattern_images(n_train, seed=0)), ("test", pattern_images(n_test, seed=1))):
        for i, (img, label) in enumerate(zip(x, y)):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            im = Image.fromarray(img, mode="L")
            (im.convert("RGB") if rgb else im).save(folder / f"{i:04d}.png")
    return root
