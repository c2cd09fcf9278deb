"""``inspect`` (a graph's nodes, merges and formats) and ``targets`` (hardware limits as data)."""
from __future__ import annotations

from pathlib import Path

import click

from neurodeploy.commands.common import GRAPH_ARG, JSON_OPT, emit, friendly


@click.command()
@GRAPH_ARG
@JSON_OPT
@friendly
def inspect(graph_dir: Path, as_json: bool) -> None:
    """Nodes in topological order: type, shape, logical depth, integer widths, neuron and synapse
    counts, and for every merge (several synapses into one population) each branch's exponent."""
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import inspect_graph

    graph = load_graph(graph_dir)
    rows = inspect_graph(graph)
    lines = [f"schedule: {graph.schedule.kind}  depth D={graph.depth}  meta: {dict(graph.meta)}",
             f"{'node':<18}{'type':<13}{'shape':<15}{'depth':>5}{'neurons':>8}{'synapses':>10}  "
             f"inputs / formats"]
    for r in rows:
        lines.append(f"{r['name']:<18}{r['type']:<13}{str(tuple(r['shape'])):<15}{r['depth']:>5}"
                     f"{r['neurons']:>8}{r['synapses']:>10}  {r['inputs']}  {r['bits']}")
        if r.get("merge"):
            branches = ", ".join(f"{b['synapse']} from {b['from']} (w_exp {b['weight_exp']})" for b in r["merge"])
            lines.append(f"{'':<18}merge of {len(r['merge'])}: {branches}")
    lines.append(f"total: {sum(r['neurons'] for r in rows)} neurons, {sum(r['synapses'] for r in rows)} synapses, "
                 f"{sum(1 for r in rows if r.get('merge'))} merges")
    emit({"schedule": graph.schedule.kind, "depth": graph.depth, "nodes": rows}, as_json, "\n".join(lines))


@click.command()
@JSON_OPT
def targets(as_json: bool) -> None:
    """List the built-in hardware targets and their integer formats."""
    from dataclasses import asdict

    from neurodeploy.targets import TARGETS

    docs = {name: asdict(t) for name, t in TARGETS.items()}
    emit(docs, as_json, "\n".join(f"{n:<16} {t.description}" for n, t in TARGETS.items()))
