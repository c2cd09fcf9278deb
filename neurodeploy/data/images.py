"""A dataset as a folder of images: ``train/<class>/*.png|jpg``, ``test/<class>/*`` (optional ``val/<class>/*``).

Rules (each violation is refused with one line naming the file or folder):

* class names are the sub-folders of ``train/``, sorted; ``test/`` and ``val/`` may only use those names;
  a class folder must not be empty; files must be ``.png``, ``.jpg`` or ``.jpeg`` that Pillow can decode
  (hidden files such as ``.DS_Store`` are skipped).
* colour: if every training image is greyscale (Pillow modes 1, L, LA, or a palette of greys) all images are
  read as 1-channel 8-bit grey, otherwise all as 3-channel 8-bit RGB (alpha dropped). 16-bit and float
  images are refused.
* size: if the images differ in size, every image is resized (bilinear) to the most common training-image
  size (ties: the smaller area); the number resized is recorded in the dataset's notes.

Pixels are ``uint8``, so the 8-bit encoding applies (``input_scale = 1/256``).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.data.encoding import build_split
from neurodeploy.data.split import DatasetSplit

__all__ = ["load_image_folder", "is_image_folder", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = ("1", "L", "LA")
_COLOUR_MODES = ("P", "RGB", "RGBA", "CMYK", "YCbCr")


def is_image_folder(path: Path) -> bool:
    """True if ``path`` has ``train/`` and ``test/`` sub-folders."""
    return (path / "train").is_dir() and (path / "test").is_dir()


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _open(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
    try:
        with Image.open(path) as im:
            im.load()
            image = im.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: cannot be decoded as an image ({str(exc).splitlines()[0]})") from None
    if image.mode not in _GREY_MODES + _COLOUR_MODES:
        raise ValueError(f"{path}: image mode {image.mode} (16-bit or float) is not supported; save it as "
                         "8-bit grey or RGB")
    return image


def _is_grey(image: Any) -> bool:
    if image.mode in _GREY_MODES:
        return True
    if image.mode == "P":
        rgb = np.asarray(image.convert("RGB"))
        return bool(np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]))
    return False


def _read_split(root: Path, split: str, classes: list[str] | None) -> tuple[list[Any], list[int], list[str]]:
    folder = root / split
    images: list[Any] = []
    labels: list[int] = []
    entries = _visible(folder)
    not_dirs = [p for p in entries if not p.is_dir()]
    if not_dirs:
        raise ValueError(f"{not_dirs[0]}: expected only class folders in {folder}")
    names = [p.name for p in entries]
    if not names:
        raise ValueError(f"{folder}: no class folders")
    if classes is not None:
        unknown = [n for n in names if n not in classes]
        if unknown:
            raise ValueError(f"{folder / unknown[0]}: class {unknown[0]!r} does not exist in {root / 'train'}")
    known = classes if classes is not None else names
    for class_dir in entries:
        files = _visible(class_dir)
        if not files:
            raise ValueError(f"{class_dir}: empty class folder")
        for path in files:
            images.append(_open(path))
            labels.append(known.index(class_dir.name))
    return images, labels, names


def _target_size(train: list[Any]) -> tuple[int, int]:
    counts = Counter(im.size for im in train)
    return min(counts, key=lambda wh: (-counts[wh], wh[0] * wh[1], wh))


def _to_array(images: list[Any], mode: str, size: tuple[int, int]) -> tuple[np.ndarray, int]:
    from PIL import Image

    out, resized = [], 0
    for im in images:
        im = im.convert(mode)
        if im.size != size:
            im, resized = im.resize(size, Image.Resampling.BILINEAR), resized + 1
        arr = np.asarray(im, dtype=np.uint8)
        out.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
    return np.stack(out), resized


def load_image_folder(root: str | Path) -> DatasetSplit:
    """Load, check and encode the image folder dataset at ``root`` (see the module docstring)."""
    root = Path(root)
    if not is_image_folder(root):
        raise ValueError(f"{root}: an image dataset needs train/<class>/ and test/<class>/ folders")
    train, y_train, classes = _read_split(root, "train", None)
    test, y_test, _ = _read_split(root, "test", classes)
    val = _read_split(root, "val", classes)[:2] if (root / "val").is_dir() else None
    mode = "L" if all(_is_grey(im) for im in train) else "RGB"
    size = _target_size(train)
    arrays, notes = [], []
    for role, images in (("train", train), ("test", test), ("val", val[0] if val else None)):
        if images is None:
            continue
        arr, resized = _to_array(images, mode, size)
        arrays.append(arr)
        if resized:
            notes.append(f"{root / role}: resized {resized} images to {size[0]}x{size[1]} (bilinear)")
    val_pair = (arrays[2], np.asarray(val[1])) if val else None
    return build_split(str(root), str(root.resolve()), (arrays[0], np.asarray(y_train)),
                       (arrays[1], np.asarray(y_test)), val_pair, classes, notes=notes,
                       roles={"y_train": "train/", "y_test": "test/", "y_val": "val/"})
