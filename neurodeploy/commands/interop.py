"""``export``: write a graph in another toolchain's format (NIR, the Neuromorphic Intermediate
Representation; see :mod:`neurodeploy.interop.nir_export` for the mapping and
:mod:`neurodeploy.interop.nir_policy` for what is refused or exported with a loss note)."""
from __future__ import annotations

from pathlib import Path

import click

from neurodeploy.commands.common import GRAPH_ARG, JSON_OPT, emit, friendly, warn_stderr


@click.command(name="export")
@GRAPH_ARG
@click.option("--format", "fmt", type=click.Choice(["nir"]), default="nir", show_default=True,
              help="Output format: nir (NIR 1.0 HDF5 file, written with nir.write).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (e.g. model.nir); a previous HDF5 file is replaced, anything else refused.")
@click.option("--allow-loss", is_flag=True,
              help="Export what NIR cannot express exactly (subtractive reset, initial potentials, flooring "
                   "negative weight exponents) with a loss note in each node's metadata and a warning, "
                   "instead of refusing.  SRP and two-phase schedules are always refused.")
@JSON_OPT
@friendly
def export(graph_dir: Path, fmt: str, out: Path, allow_loss: bool, as_json: bool) -> None:
    """Write GRAPH_DIR as a NIR graph: Input, Affine/Linear, Conv2d, SumPool2d, Flatten, IF and an
    integrator (nir.I) for the readout, merges and concatenations as edges.  Values are the exact
    floats the integers stand for (integer potential units; the input is fed x_int); one NIR time
    unit is one step (dt = 1, r = 1).  Zero-reset graphs (convert --neuron zero) export exactly.

    Exit status 1 (one line naming node and field) for a graph NIR cannot express; nothing is written."""
    from neurodeploy.interop.nir_export import write_nir
    from neurodeploy.ir.serialize import load_graph

    graph = load_graph(graph_dir)
    try:
        result = write_nir(graph, out, allow_loss=allow_loss, graph_dir=graph_dir)
    except ModuleNotFoundError as exc:
        raise click.ClickException(f"--format {fmt}: needs the '{exc.name}' package "
                                   "(pip install 'neurodeploy[nir]')") from None
    for note in result.losses:
        warn_stderr(f"{note.line()} (recorded in the node's NIR metadata)")
    nir_graph = result.graph
    exact = not result.losses
    payload = {"out": str(out), "format": fmt, "nodes": len(nir_graph.nodes), "edges": len(nir_graph.edges),
               "exact": exact, "clip_free_steps": result.clip_free_steps,
               "notes": [{"node": x.node, "field": x.field, "kind": x.kind, "text": x.line()} for x in result.notes]}
    count = len(result.losses)
    what = "exact" if exact else f"with {count} loss note{'s' if count > 1 else ''} (see the warnings)"
    if result.clip_free_steps < 1:
        what += ("; the IR's potential clipping, absent in NIR, cannot be ruled out statically even for one "
                 "step: the file equals the IR while no potential clips (check it with nir_peer.compare)")
    elif result.clip_free_steps < 1 << 20:
        what += (f"; the IR's potential clipping, absent in NIR, is provably unreachable for T <= "
                 f"{result.clip_free_steps} steps")
    emit(payload, as_json, f"wrote {out}: NIR graph of {len(nir_graph.nodes)} nodes and {len(nir_graph.edges)} "
                           f"edges, {what}")
