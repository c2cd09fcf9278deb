"""Commands that describe a network's cost and errors: ``stats`` (synaptic operations, sparsity,
membrane updates, energy estimates) and ``report`` (error budget and everything else in one
self-contained HTML page)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from neurodeploy.commands.common import (
    DATA_OPT,
    GRAPH_ARG,
    JSON_OPT,
    POSITIVE,
    dataset_option,
    emit,
    friendly,
    graph_inputs,
    parse_steps,
)

DATASET_OPT = dataset_option(None)
LIMIT_OPT = click.option("--limit", type=POSITIVE, default=None, help="Use only the first N test samples.")
CHUNK_OPT = click.option("--chunk", type=POSITIVE, default=None,
                         help="Samples simulated together (default: sized from a 256 MiB budget).")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def format_stats(doc: dict[str, Any]) -> str:
    """Plain-text tables of :meth:`~neurodeploy.report.stats.OpCounter.result` (with energy)."""
    lines = [f"{doc['samples']} samples, schedule {doc['schedule']}; figures per inference (mean over samples)",
             f"definitions: {doc['definitions']}"]
    for t, s in doc["per_T"].items():
        lines += ["", f"T = {t} ({s['total_steps']} steps per inference)",
                  (f"{'synapse':<14}{'kind':<7}{'ANN MACs':>14}{'ANN eff.MACs':>14}{'SNN MACs':>13}{'SNN ACs':>14}"
                   f"{'layer ops':>14}")]
        for lay in doc["layers"]:
            v = s["synapses"][lay["synapse"]]
            lines.append(f"{lay['synapse']:<14}{lay['kind']:<7}{lay['ann_macs']:>14,}{_fmt(lay['ann_effective_macs']):>14}"
                         f"{_fmt(v['macs']):>13}{_fmt(v['acs']):>14}{_fmt(v['layer_ops']):>14}")
        tot = s["totals"]
        lines.append(f"{'total':<21}{doc['ann']['ann_macs']:>14,}{_fmt(doc['ann']['ann_effective_macs']):>14}"
                     f"{_fmt(tot['macs']):>13}{_fmt(tot['acs']):>14}{_fmt(tot['layer_ops']):>14}")
        lines.append(f"{'population':<14}{'neurons':>9}{'spikes':>12}{'rate':>9}{'sparsity':>10}"
                     f"{'mem.updates':>13}{'neuron upd.':>13}")
        for p, v in s["populations"].items():
            neurons = v["neuron_updates"] // s["total_steps"]
            lines.append(f"{p:<14}{neurons:>9,}{_fmt(v['spikes']):>12}{v['firing_rate']:>9.4f}"
                         f"{v['activation_sparsity']:>10.4f}{_fmt(v['membrane_updates']):>13}{v['neuron_updates']:>13,}")
        lines.append(f"{'all':<14}{'':>9}{_fmt(tot['spikes']):>12}{1 - tot['activation_sparsity']:>9.4f}"
                     f"{tot['activation_sparsity']:>10.4f}{_fmt(tot['membrane_updates']):>13}{tot['neuron_updates']:>13,}")
        lines.append(f"energy per inference, {doc['energy_note']}:")
        lines += [f"  {e['estimate']:<18}{e['nanojoules']:>12.3f} nJ  = {e['formula']}  [{'; '.join(e['sources'])}]"
                  for e in s["energy"]]
    return "\n".join(lines)


@click.command()
@GRAPH_ARG
@click.option("--steps", default="4,8", show_default=True, help="Comma-separated T values.")
@LIMIT_OPT
@CHUNK_OPT
@DATASET_OPT
@DATA_OPT
@JSON_OPT
@friendly
def stats(graph_dir: Path, steps: str, limit: int | None, chunk: int | None, dataset: str | None,
          data_dir: Path | None, as_json: bool) -> None:
    """Synaptic operations, activation sparsity, firing rates and membrane updates per layer and per
    inference at each T (NeuroBench's definitions), beside the equivalent ANN's MACs, with energy
    estimates from cited per-operation figures; exact counts from the CPU simulator's traces."""
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.report.collect import scan
    from neurodeploy.report.energy import with_energy
    from neurodeploy.report.stats import OpCounter

    graph = load_graph(graph_dir)
    t_values = parse_steps(steps)
    x, _ = graph_inputs(graph, dataset, data_dir)
    if limit:
        x = x[:limit]
    counter = OpCounter(graph, t_values)
    scan(graph, x, None, counter, chunk=chunk, progress=not as_json)
    doc = {"graph": str(graph_dir), **with_energy(counter.result())}
    emit(doc, as_json, format_stats(doc))


@click.command()
@GRAPH_ARG
@click.option("--checkpoint", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="QAT checkpoint: adds the Brevitas ANN's accuracy to the error budget.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write (index.html, report.json, manifest.json).")
@click.option("--steps", default="1,2,4,8", show_default=True, help="Comma-separated T values.")
@click.option("--sample", type=click.IntRange(min=0), default=0, show_default=True,
              help="Test sample whose spike raster is shown.")
@LIMIT_OPT
@CHUNK_OPT
@DATASET_OPT
@DATA_OPT
@JSON_OPT
@friendly
def report(graph_dir: Path, checkpoint: Path | None, out: Path, steps: str, sample: int, limit: int | None,
           chunk: int | None, dataset: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Conversion error budget (float ANN -> QAT ANN -> integer reference -> SNN at each T, and per layer
    in the accumulated and isolated views), Loihi 2 resource map, accuracy vs T, firing rates,
    operations and energy estimates, a spike raster: OUT/index.html (self-contained) and OUT/report.json."""
    from neurodeploy.atomic import check_output
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.report.build import REPORT_KIND, collect_report, write_report

    inputs = tuple(p for p in (graph_dir, checkpoint) if p is not None)
    check_output(out, inputs, REPORT_KIND)                     # refuse before the long run, not after
    graph = load_graph(graph_dir)
    t_values = parse_steps(steps)
    x, y = graph_inputs(graph, dataset, data_dir)
    assert y is not None
    if limit:
        x, y = x[:limit], y[:limit]
    doc, images = collect_report(graph, str(graph_dir), x, y, t_values, checkpoint=checkpoint, sample=sample,
                                 chunk=chunk, progress=not as_json)
    path = write_report(out, doc, images, inputs)
    summary = [f"wrote {path / 'index.html'} and {path / 'report.json'}"]
    summary += [f"  {s['stage']:<30}{100 * s['accuracy']:>8.2f}%" for s in doc["budget"]["stages"]]
    summary += [f"  {'SNN T=' + str(e['T']):<30}{100 * e['accuracy']:>8.2f}%" for e in doc["budget"]["snn"]]
    emit({"out": str(path), "budget": {k: doc["budget"][k] for k in ("stages", "snn")}}, as_json, "\n".join(summary))
