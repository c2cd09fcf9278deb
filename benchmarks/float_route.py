"""Float-ANN route benchmark: BN CNN trained without QAT on MNIST, converted to an 8-bit integer
IF network (bit-exact CPU simulator) with layer-wise parameter calibration (Li, Deng, Dong, Gu,
arXiv 2205.10121), beside the float ANN and SpikingJelly 2.0.0's ann2snn (RateCodingRecipe,
"Max" and "99.9%") on the same float network and calibration images, measured in the same run.

    python benchmarks/float_route.py --cache runs/float_cache --out runs/float_route.json \
        --test-samples 2000 --calib-samples 512

Rows: max threshold, MMSE, MMSE + bias calibration (light), MMSE + potential calibration
(advanced).  Thresholds / calibration use T itself (MMSE and calibration are T-specific);
the max-threshold network and SpikingJelly do not depend on T, so one run to max(T) gives
every T (the readout accumulates, so accuracy after t steps is read from the same run).
SpikingJelly is a benchmark-only dependency (``pip install --no-deps spikingjelly==2.0.0``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from neurodeploy.backends.cpusim import simulate
from neurodeploy.convert.float_route import calibrate_network, calibration_set
from neurodeploy.convert.float_zoo import MODEL_FILE, float_predict, train_float
from neurodeploy.convert.from_float import load_float_model, network_from_float
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import InputSpec
from neurodeploy.data.mnist import load_mnist

ROWS = {"max": ("max", "none"), "mmse": ("mmse", "none"), "mmse+bias": ("mmse", "light"),
        "mmse+potential": ("mmse", "advanced")}


def snn_accuracy(net, x, y, steps: int) -> np.ndarray:
    graph, _ = integerize(net)
    return simulate(graph, x, steps, chunk=500).accuracy_per_step(y)


def spikingjelly_accuracy(model, x_calib, x, y, steps: int, mode: str, batch: int = 500) -> np.ndarray:
    import copy

    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.ann2snn import Converter, RateCodingRecipe

    loader = [(torch.as_tensor(x_calib[i:i + 128], dtype=torch.float32) / 256, torch.zeros(1))
              for i in range(0, len(x_calib), 128)]
    snn = Converter(RateCodingRecipe(loader, mode=mode)).convert(copy.deepcopy(model).eval())
    correct = np.zeros(steps)
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.as_tensor(x[i:i + batch], dtype=torch.float32) / 256
            functional.reset_net(snn)
            acc = 0
            for t in range(steps):
                acc = acc + snn(xb)
                correct[t] += (acc.argmax(1).numpy() == y[i:i + batch]).sum()
            functional.reset_net(snn)
    return correct / len(x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=Path("runs/float_cache"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--steps", default="8,16,32,64")
    p.add_argument("--test-samples", type=int, default=None, help="first N test images (default: all 10000)")
    p.add_argument("--calib-samples", type=int, default=512)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--no-spikingjelly", action="store_true")
    args = p.parse_args(argv)
    steps = sorted(int(s) for s in args.steps.split(","))
    data = load_mnist(args.data_dir)
    ckpt = args.cache / f"bn_cnn_s{args.seed}_e{args.epochs}"
    t0 = time.perf_counter()
    if not (ckpt / MODEL_FILE).is_file():
        train_float("bn_cnn", epochs=args.epochs, seed=args.seed, data_dir=args.data_dir, out=ckpt)
    model = load_float_model("bn_cnn", ckpt / MODEL_FILE)
    timings: dict[str, float] = {"train_or_load_s": time.perf_counter() - t0}
    x, y = data.x_test[:args.test_samples], data.y_test[:args.test_samples]
    x_cal = calibration_set(data.x_train, args.calib_samples, args.seed)
    ann_acc = float((float_predict(model, x, data.input_scale).argmax(1) == y).mean())
    net0, _ = network_from_float(model, InputSpec((1, 28, 28), 8, data.input_scale))
    table: dict[str, dict[int, float]] = {"float ANN": {t: ann_acc for t in steps}}
    for row in args.rows.split(","):
        thr, cal = ROWS[row]
        t1, table[row] = time.perf_counter(), {}
        if (thr, cal) == ("max", "none"):
            net, _ = calibrate_network(net0, x_cal, threshold="max", steps=max(steps))
            acc = snn_accuracy(net, x, y, max(steps))
            table[row] = {t: float(acc[t - 1]) for t in steps}
        else:
            for t in steps:
                net, _ = calibrate_network(net0, x_cal, threshold=thr, calibrate=cal, steps=t)
                table[row][t] = float(snn_accuracy(net, x, y, t)[-1])
                print(f"  {row:<16} T={t:<3} {100 * table[row][t]:.2f}  ({time.perf_counter() - t1:.0f}s)",
                      file=sys.stderr, flush=True)
        timings[f"{row}_s"] = time.perf_counter() - t1
    sj_error = None
    if not args.no_spikingjelly:
        try:
            for mode in ("Max", "99.9%"):
                t1 = time.perf_counter()
                acc = spikingjelly_accuracy(model, x_cal, x, y, max(steps), mode)
                table[f"SpikingJelly {mode}"] = {t: float(acc[t - 1]) for t in steps}
                timings[f"spikingjelly_{mode}_s"] = time.perf_counter() - t1
        except ImportError as exc:
            sj_error = f"SpikingJelly not importable: {exc}"
            print(sj_error, file=sys.stderr)
    header = f"{'method':<22}" + "".join(f"{'T=' + str(t):>9}" for t in steps)
    lines = [header] + [f"{name:<22}" + "".join(f"{100 * row[t]:>9.2f}" for t in steps)
                        for name, row in table.items()]
    print(f"MNIST test images: {len(x)}, calibration images: {len(x_cal)}, checkpoint: {ckpt}")
    print("\n".join(lines))
    print("timings (s): " + ", ".join(f"{k}={v:.0f}" for k, v in timings.items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        doc = {"test_samples": len(x), "calib_samples": len(x_cal), "steps": steps, "checkpoint": str(ckpt),
               "accuracy": {k: {str(t): v for t, v in row.items()} for k, row in table.items()},
               "timings_s": timings, "spikingjelly_error": sj_error, "torch": torch.__version__}
        args.out.write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
