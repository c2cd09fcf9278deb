"""A float PyTorch model of your own (no QAT) to a calibrated integer SNN (Li et al., arXiv 2205.10121).

The network is ``examples/my_float_net.py:make_net`` (Linear + BatchNorm + ReLU).  It is trained as a plain
float model, then converted three ways and compared:

    threshold max,  no calibration        (the classic rate-coding conversion)
    threshold mmse, light calibration     (per-channel bias, through the bit-exact simulator)
    threshold mmse, advanced calibration  (per-neuron initial potential)

Command-line equivalent of the training step, from the repository root:
    neurodeploy train-float --model examples.my_float_net:make_net --dataset digits --epochs 40 --lr 3e-3 \
        --batch-size 64 --out RUN/float

Run from the repository root:  python examples/float_model_calibration.py [--quick] [--out runs/float_calib]
(--quick: 10 epochs, 256 calibration samples).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from example_support import ROOT, fresh_run_folder

STEPS = [1, 2, 4, 8, 16]
VARIANTS = [("max", "none"), ("mmse", "light"), ("mmse", "advanced")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, 256 calibration samples (CI)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "float_calib")
    args = parser.parse_args()
    run = fresh_run_folder(args.out, "float_model_calibration.py")

    from neurodeploy.convert.float_route import convert_float
    from neurodeploy.convert.float_zoo import train_float
    from neurodeploy.data import load_dataset
    from neurodeploy.evaluate import snn_accuracy
    from neurodeploy.pipeline import load_test_data, save_converted

    # 1. The float model, trained on the inputs the SNN will see: integer pixels times the input scale.
    #    Any state_dict of make_net() works here; train_float is simply a short Adam loop.
    data = load_dataset("digits")
    _, metrics = train_float("my_float_net:make_net", data, epochs=10 if args.quick else 40, lr=3e-3,
                             batch_size=64, seed=0, progress=False, out=run / "float")
    print(f"float ANN test accuracy {100 * metrics['test_acc']:.2f}% (trained in {metrics['train_s']:.0f} s)")

    # 2. Convert: BatchNorm folded, a threshold per population from the ANN's activations on training
    #    images, optionally calibrated by running the integer SNN itself; then integer weights.
    rows = []
    for threshold, calibrate in VARIANTS:
        res = convert_float("my_float_net:make_net", run / "float" / "model.pt", dataset="digits",
                            threshold=threshold, calibrate=calibrate, steps=16,
                            calib_samples=256 if args.quick else 1024)
        out = run / f"graph_{threshold}_{calibrate}"
        save_converted(res.graph, res.report, out, extra={"float_route": res.info})
        x, y = load_test_data(res.graph)
        acc = snn_accuracy(res.graph, x, y, STEPS)
        rows.append((f"{threshold} + {calibrate}", acc))

    # 3. The SNN's accuracy after T steps for each variant; calibration matters most at small T.
    print(f"{'conversion':<22}" + "".join(f"{'T=' + str(t):>9}" for t in STEPS))
    for name, acc in rows:
        print(f"{name:<22}" + "".join(f"{100 * acc[t]:>8.2f}%" for t in STEPS))
    print(f"float ANN {100 * metrics['test_acc']:.2f}%; graphs in {run}")


if __name__ == "__main__":
    main()
