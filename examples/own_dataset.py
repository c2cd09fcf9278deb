"""Your own data, two ways, through train -> convert -> eval on the command line.

The script first writes two small datasets of its own (replace them with yours):

* ``RUN/sensors.npz``: tabular float features (12 non-negative readings per sample, 3 classes), as
  ``x_train, y_train, x_test, y_test, class_names``.  Floats are quantised to ``--input-bits`` with a step
  derived from the training set (``max / (2**bits - 1)``), recorded in the checkpoint and the graph.
* ``RUN/shapes/``: an image folder, ``train/<class>/*.png`` and ``test/<class>/*.png`` (16x16 grey circles,
  squares and triangles).  8-bit images are used as they are (``x_int / 256``); class names are the
  folder names.

Then, for each:

    neurodeploy train   --dataset RUN/sensors.npz --model mlp --input-bits 8 --out RUN/npz/ckpt
    neurodeploy convert RUN/npz/ckpt --out RUN/npz/graph         # integer reference == ANN, checked
    neurodeploy eval    RUN/npz/graph --checkpoint RUN/npz/ckpt --steps 1,2,4,8
    neurodeploy train   --dataset RUN/shapes --model cnn --out RUN/img/ckpt   (then convert, eval)

``eval`` (and ``build``, ``verify``, ``raster``) find the test set through the path the graph records, and
warn if the file there no longer has the recorded fingerprint; ``--dataset PATH`` points elsewhere.
Run from the repository root:  python examples/own_dataset.py [--quick] [--out runs/own_data]
(--quick trains each model for 4 epochs instead of 15).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from example_support import ROOT, fresh_run_folder, neurodeploy

SENSOR_CLASSES = ("idle", "walking", "running")
SHAPES = ("circle", "square", "triangle")


def write_sensor_npz(path: Path, seed: int = 0) -> Path:
    """Three classes of 12 float readings each (non-negative, like magnitudes or concentrations)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.5, 4.0, size=(len(SENSOR_CLASSES), 12))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, len(SENSOR_CLASSES), size=n)
        x = np.abs(centres[y] + rng.normal(0, 1.5, size=(n, 12)))
        return x.astype(np.float32), y.astype(np.int64)

    (x_train, y_train), (x_test, y_test) = draw(600), draw(200)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=np.array(SENSOR_CLASSES))
    return path


def write_shape_folder(root: Path, seed: int = 0) -> Path:
    """16x16 grey PNGs of a circle, a square or a triangle at random places and sizes, with noise."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for split, per_class in (("train", 80), ("test", 30)):
        for label, shape in enumerate(SHAPES):
            folder = root / split / shape
            folder.mkdir(parents=True)
            for i in range(per_class):
                im = Image.new("L", (16, 16), 0)
                r = int(rng.integers(3, 6))
                cx, cy = (int(v) for v in rng.integers(r, 16 - r, size=2))
                box = (cx - r, cy - r, cx + r, cy + r)
                draw = ImageDraw.Draw(im)
                if label == 0:
                    draw.ellipse(box, outline=255, width=2)
                elif label == 1:
                    draw.rectangle(box, outline=255, width=2)
                else:
                    draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], outline=255, width=2)
                pixels = np.asarray(im, dtype=np.int64) + rng.integers(0, 50, size=(16, 16))
                noisy = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
                noisy.save(folder / f"{i:03d}.png")
    return root


def train_convert_eval(run: Path, dataset: Path, epochs: int, *model_args: str) -> dict:
    """The three commands for one dataset; returns eval's JSON plus the conversion's verdict."""
    ckpt, graph = str(run / "ckpt"), str(run / "graph")
    neurodeploy("train", "--dataset", str(dataset), *model_args, "--epochs", str(epochs), "--seed", "0",
                "--out", ckpt, "--json")
    report = json.loads(neurodeploy("convert", ckpt, "--out", graph, "--json"))
    result = json.loads(neurodeploy("eval", graph, "--checkpoint", ckpt, "--steps", "1,2,4,8", "--json"))
    meta = json.loads((run / "graph" / "graph.json").read_text())["meta"]
    return {**result, "exact": report["exact"], "classes": json.loads(meta["class_names"]),
            "encoding": json.loads(meta["input_encoding"])["kind"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 epochs per model (CI smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "own_data")
    args = parser.parse_args()
    run = fresh_run_folder(args.out, "own_dataset.py")
    epochs = 4 if args.quick else 15

    npz = write_sensor_npz(run / "sensors.npz")
    shapes = write_shape_folder(run / "shapes")
    results = {
        "sensors.npz (mlp)": train_convert_eval(run / "npz", npz, epochs, "--model", "mlp",
                                                "--input-bits", "8", "--lr", "3e-3"),
        "shapes/ (cnn)": train_convert_eval(run / "img", shapes, epochs, "--model", "cnn", "--lr", "5e-3"),
    }
    print(f"{'dataset':<20}{'encoding':<11}{'ANN':>8}{'int ref':>9}{'SNN T=4':>9}{'SNN T=8':>9}  ref == ANN")
    for name, r in results.items():
        print(f"{name:<20}{r['encoding']:<11}{100 * r['ann']:>7.2f}%{100 * r['integer_reference']:>8.2f}%"
              f"{100 * r['snn']['4']:>8.2f}%{100 * r['snn']['8']:>8.2f}%  "
              f"{100 * r['agreement_reference_vs_ann']:.2f}% of {r['samples']} "
              f"(classes {', '.join(r['classes'])})")
    if not all(r["exact"] and r["agreement_reference_vs_ann"] == 1.0 for r in results.values()):
        raise SystemExit("a conversion was not exact (see above)")


if __name__ == "__main__":
    main()
