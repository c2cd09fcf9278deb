"""Operation counts and the error-budget report of a converted network (issue 12, deliverables 2-4).

    neurodeploy convert runs/lif/cnn_ckpt --out /tmp/mnist_cnn_graph
    python benchmarks/report_stats.py --graph /tmp/mnist_cnn_graph --checkpoint runs/lif/cnn_ckpt \
        --steps 4,8 --samples 10000 --report-out /tmp/mnist_cnn_report

Prints, per T, a markdown table of every synapse's SynOps (spikes x fan-out ACs, the input layer's
MACs) beside the equivalent ANN's dense and effective MACs, and every population's activation
sparsity and firing rate (the same numbers as ``neurodeploy stats --json``), with the wall time;
then (``--report-out``) writes the HTML report and times it.  JSON goes to
``benchmarks/results/report_stats.json``.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

from neurodeploy.atomic import write_json
from neurodeploy.ir.serialize import load_graph
from neurodeploy.pipeline import load_test_data
from neurodeploy.report.collect import scan
from neurodeploy.report.energy import with_energy
from neurodeploy.report.stats import OpCounter

RESULTS = Path(__file__).resolve().parent / "results" / "report_stats.json"


def tables(doc: dict[str, Any]) -> str:
    """Markdown tables of the per-layer operation counts and sparsity at each T."""
    out = []
    for t, s in doc["per_T"].items():
        out += [f"T = {t} ({doc['samples']} test images, per inference):", "",
                "| synapse | reads | ANN MACs (dense) | ANN effective MACs | SNN input MACs | SNN ACs (SynOps) |",
                "|---|---|---|---|---|---|"]
        for lay in doc["layers"]:
            v = s["synapses"][lay["synapse"]]
            out.append(f"| {lay['synapse']} | {', '.join(lay['reads'])} | {lay['ann_macs']:,} | "
                       f"{lay['ann_effective_macs']:,.0f} | {v['macs']:,.0f} | {v['acs']:,.0f} |")
        tot = s["totals"]
        out.append(f"| total | | {doc['ann']['ann_macs']:,} | {doc['ann']['ann_effective_macs']:,.0f} | "
                   f"{tot['macs']:,.0f} | {tot['acs']:,.0f} |")
        out += ["", "| population | neurons | spikes | firing rate | activation sparsity | membrane updates |",
                "|---|---|---|---|---|---|"]
        for p, v in s["populations"].items():
            out.append(f"| {p} | {v['neuron_updates'] // s['total_steps']:,} | {v['spikes']:,.1f} | "
                       f"{v['firing_rate']:.4f} | {v['activation_sparsity']:.4f} | {v['membrane_updates']:,.0f} |")
        out.append(f"| all | | {tot['spikes']:,.1f} | {1 - tot['activation_sparsity']:.4f} | "
                   f"{tot['activation_sparsity']:.4f} | {tot['membrane_updates']:,.0f} |")
        out += ["", "| energy estimate per inference | nJ |", "|---|---|"]
        out += [f"| {e['estimate']} | {e['nanojoules']:,.1f} |" for e in s["energy"]]
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", type=Path, required=True)
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--steps", default="4,8")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--report-out", type=Path, default=None)
    ap.add_argument("--report-steps", default="1,2,4,8")
    ap.add_argument("--json-out", type=Path, default=RESULTS)
    args = ap.parse_args()

    graph = load_graph(args.graph)
    x, y = load_test_data(graph)
    x, y = x[:args.samples], y[:args.samples]
    steps = [int(s) for s in args.steps.split(",")]
    start = time.perf_counter()
    counter = OpCounter(graph, steps)
    scan(graph, x, None, counter, progress=True)
    doc = {"graph": str(args.graph), **with_energy(counter.result())}
    stats_s = time.perf_counter() - start
    print(tables(doc))
    print(f"stats: {stats_s:.1f} s for {len(x)} images at T = {args.steps}")
    record: dict[str, Any] = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
                              "stats": doc, "stats_seconds": stats_s}
    if args.report_out is not None:
        from neurodeploy.report.build import collect_report, write_report

        report_steps = [int(s) for s in args.report_steps.split(",")]
        start = time.perf_counter()
        rep, images = collect_report(graph, str(args.graph), x, y, report_steps, checkpoint=args.checkpoint,
                                     progress=True)
        write_report(args.report_out, rep, images, tuple(p for p in (args.graph, args.checkpoint) if p))
        record["report"] = {"out": str(args.report_out), "seconds": time.perf_counter() - start,
                            "budget": {k: rep["budget"][k] for k in ("stages", "snn", "layers")}}
        print(f"report: {record['report']['seconds']:.1f} s -> {args.report_out / 'index.html'}")
        for s in rep["budget"]["stages"]:
            print(f"  {s['stage']:<28}{100 * s['accuracy']:.2f}%")
        for e in rep["budget"]["snn"]:
            print(f"  SNN T={e['T']:<22}{100 * e['accuracy']:.2f}%  (reference at L=T "
                  f"{100 * e.get('reference_at_T', float('nan')):.2f}%)")
    write_json(args.json_out, record)
    print(f"wrote {args.json_out}")


if __name__ == "__main__":
    main()
