"""Quickstart: the library API end to end on sklearn digits, no command line involved.

    train (Brevitas QAT, QCFS activations)  ->  convert (torch.fx -> integer IR, checked against the ANN)
    ->  simulate (bit-exact CPU simulator)   ->  verify on Lava (zero tolerance)  ->  accuracy table

Run from the repository root:  python examples/quickstart_digits.py [--quick] [--out runs/quickstart]
(see examples/README.md for measured run times; --quick trains for 6 epochs and verifies 3 samples).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from example_support import ROOT, fresh_run_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 epochs, 3 Lava samples (CI smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "quickstart")
    args = parser.parse_args()
    run = fresh_run_folder(args.out, "quickstart_digits.py")

    # Heavy imports after argument parsing, so --help is instant.
    from neurodeploy.quant.train import train

    from neurodeploy.data import load_dataset
    from neurodeploy.evaluate import evaluate, format_table
    from neurodeploy.harness.verify import verify_backend
    from neurodeploy.pipeline import check_against_ann, convert_checkpoint, load_test_data, save_converted

    # 1. Data: 1797 8x8 digits, pixels 0..16 used as 5-bit integers (the network sees x_int / 16).
    data = load_dataset("digits")
    print(f"digits: {len(data.y_train)} train / {len(data.y_test)} test, {data.input_bits}-bit inputs")

    # 2. QAT: the zoo CNN sees each sample as a 1x8x8 image; L = 4 QCFS levels.  The checkpoint folder
    #    (model.pt + config.json) records how to rebuild the model and the data contract.
    ckpt = run / "ckpt"
    _, history = train("cnn", data, levels=4, seed=0, epochs=6 if args.quick else 30, input_shape=(1, 8, 8),
                       progress=False, out=ckpt)
    print(f"trained in {history['train_s']:.0f} s: ANN test accuracy {100 * history['test_acc']:.2f}%")

    # 3. Convert: exact when every scale is a power of two; the check runs the integer reference and the
    #    Brevitas ANN on the test set and compares every layer's integer activations.
    graph, report = convert_checkpoint(ckpt)
    check = check_against_ann(graph, ckpt)
    save_converted(graph, report, run / "graph", extra={"ann_check": check})
    print(f"converted: mapping exact {report.exact}, integer reference == ANN on "
          f"{100 * check['prediction_agreement']:.2f}% of {check['samples']} test predictions")

    # 4. The graph knows its test set (recorded in its metadata), in its own input shape.
    x, y = load_test_data(graph)

    # 5. Lava: the same integer network as Lava processes, every spike and potential compared.
    samples = 3 if args.quick else 20
    lava = verify_backend(graph, x[:samples], steps=8, backend="lava")
    print(f"Lava vs CPU simulator on {samples} samples x 8 steps: "
          + ("BIT-EXACT" if lava.ok else f"MISMATCH at {lava.first_divergence}"))

    # 6. Accuracy of the three views of the network on the whole test set (one simulation gives all T).
    result = evaluate(graph, x, y, [1, 2, 4, 8, 16], checkpoint=ckpt)
    print(format_table(result))
    if not (lava.ok and check["exact"]):
        raise SystemExit("the SNN is not bit-exact (see above)")


if __name__ == "__main__":
    main()
