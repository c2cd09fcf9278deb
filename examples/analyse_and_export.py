"""Analyse a converted SNN and hand it to other tools: operations and energy, the conversion error
budget as one HTML page, and a NIR file checked in a peer simulator.  Library API, sklearn digits.

    train (QAT)  ->  convert --neuron zero for Lava's stock LIF (layers fitted to its proofs)
    ->  stats (SynOps, sparsity, energy estimate)  ->  report (index.html + report.json)
    ->  export NIR  ->  re-simulate the file in Norse and compare with the integer simulator

Run from the repository root:  python examples/analyse_and_export.py [--quick] [--out runs/analyse]
(see examples/README.md for measured run times; --quick trains for 6 epochs and analyses 100 test images).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from example_support import ROOT, fresh_run_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 epochs, 100 test images (CI smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "analyse")
    args = parser.parse_args()
    run = fresh_run_folder(args.out, "analyse_and_export.py")

    from neurodeploy.quant.train import train

    from neurodeploy.data import load_dataset
    from neurodeploy.interop.nir_export import write_nir
    from neurodeploy.interop.nir_peer import compare
    from neurodeploy.pipeline import convert_checkpoint, load_test_data, save_converted
    from neurodeploy.report.build import collect_report, write_report
    from neurodeploy.report.collect import scan
    from neurodeploy.report.energy import with_energy
    from neurodeploy.report.stats import OpCounter

    # 1. QAT on digits (the zoo MLP), then a zero-reset conversion: NIR's IF and Lava's stock LIF both
    #    reset to zero and fire on '>'.  The converter lowers a layer's threshold where the target's
    #    bounds need it and says so per layer.
    data = load_dataset("digits")
    ckpt = run / "ckpt"
    train("mlp", data, levels=4, seed=0, epochs=6 if args.quick else 30, progress=False, out=ckpt)
    graph, conv_report = convert_checkpoint(ckpt, target="lava-sim-lif", neuron="zero")
    save_converted(graph, conv_report, run / "graph")
    print("\n".join(conv_report.summary_rows()))
    x, y = load_test_data(graph)
    n = 100 if args.quick else len(x)
    x, y = x[:n], y[:n]

    # 2. Operations per inference from the simulator's exact traces (NeuroBench's definitions).
    counter = OpCounter(graph, [4, 8])
    scan(graph, x, None, counter)
    stats = with_energy(counter.result())
    for t, s in stats["per_T"].items():
        tot = s["totals"]
        print(f"T={t}: {tot['acs']:,.0f} synaptic ops (ACs) + {tot['macs']:,.0f} input MACs per inference, "
              f"activation sparsity {tot['activation_sparsity']:.3f}; the ANN: {stats['ann']['ann_macs']:,} MACs")

    # 3. The conversion error budget and everything else as one self-contained page.
    doc, images = collect_report(graph, "graph", x, y, [1, 2, 4, 8], checkpoint=ckpt)
    page = write_report(run / "report", doc, images, (run / "graph", ckpt))
    print(f"report: {page / 'index.html'}")

    # 4. NIR: written with nir.write, then re-simulated by Norse's NIR importer on the same inputs.
    nir_file = run / "model.nir"
    write_nir(graph, nir_file)
    check = compare(graph, nir_file, x, 8, labels=y)
    print(f"NIR file re-simulated in Norse: predictions agree on {check['predictions_agree']}/{n}, "
          f"readouts identical on {check['readout_equal_samples']}/{n} samples")
    if check["predictions_agree"] != n or check["unexplained_samples"]:
        raise SystemExit("the NIR export does not reproduce the integer simulator (see above)")


if __name__ == "__main__":
    main()
