"""The report as one self-contained HTML page: inline CSS, PNG plots embedded as base64 data URIs,
no script, no external reference (it opens from disk, without a web server or network)."""
from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

from neurodeploy.reference import CATEGORIES
from neurodeploy.report.energy import NOTE

SECTIONS = (("summary", "Network"), ("resources", "Loihi 2 resource map"), ("accuracy", "Accuracy vs T"),
            ("budget", "Conversion error budget"), ("rates", "Firing rates"),
            ("operations", "Synaptic operations and energy"), ("raster", "Spike raster"))
CSS = """body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}
th{background:#f0f0f0}td.n{text-align:right;font-family:monospace}img{max-width:100%;display:block;margin:.5em 0}
nav a{margin-right:1em}.note{color:#555;font-size:13px}.bad{color:#b00}"""


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f"<td>{escape(str(value if value is not None else '-'))}</td>"
    if isinstance(value, int):
        return f'<td class="n">{value:,}</td>'
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        return f'<td class="n">{text}</td>'
    return f"<td>{escape(str(value))}</td>"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table, every cell escaped (numbers right-aligned)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def image(png: bytes, alt: str) -> str:
    """An <img> holding ``png`` as a base64 data URI."""
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _summary(doc: dict[str, Any]) -> str:
    rows = [[r["name"], r["type"], "x".join(map(str, r["shape"])), r["depth"], r["neurons"], r["synapses"],
             r["inputs"], r["bits"]] for r in doc["summary"]]
    return (f"<p>schedule {escape(doc['schedule'])}, {doc['samples']} test samples of {escape(doc['dataset'])}</p>"
            + table(["node", "type", "shape", "depth", "neurons", "synapses", "inputs", "formats"], rows))


def _resources(res: dict[str, Any]) -> str:
    rows = [[lu["name"], lu["kind"], lu["neurons"], lu["synapses"], lu["fan_in"], lu["projections"],
             lu["max_delay"], lu["cores"], lu["limited_by"]] for lu in res["layers"]]
    fits = "fits" if res["fits"] else "does NOT fit"
    issues = "".join(f'<li class="bad">{escape(i)}</li>' for i in res["issues"])
    unknown = ", ".join(res.get("unknown_limits", [])) or "none"
    return (f"<p>{res['total_cores']} of {res['available_cores']} cores on {escape(res['target'])}: {fits}</p>"
            + table(["layer", "kind", "neurons", "synapses", "fan-in", "projections", "delay", "cores", "limited by"],
                    rows)
            + (f"<ul>{issues}</ul>" if issues else "")
            + f'<p class="note">limits not public (not checked): {escape(unknown)}</p>')


def _budget(budget: dict[str, Any], images: dict[str, bytes]) -> str:
    stage_rows = [[s["stage"], _pct(s["accuracy"]), _pct(s.get("loss_from_previous"))] for s in budget["stages"]]
    snn_rows = [[f"SNN T={e['T']}", e["total_steps"], _pct(e["accuracy"]), _pct(e.get("loss_from_last_stage")),
                 _pct(e.get("reference_at_T")), _pct(e.get("quantisation_to_T_levels")), _pct(e.get("temporal"))]
                for e in budget["snn"]]
    parts = [table(["stage", "accuracy", "loss from previous stage"], stage_rows),
             table(["SNN", "steps run", "accuracy", "loss from the last stage", "reference at L=T",
                    "of which: quantisation to T levels", "of which: temporal"], snn_rows)]
    if budget.get("isolated_note"):
        parts.append(f'<p class="note">{escape(budget["isolated_note"])}</p>')
    for t, layers in budget["layers"].items():
        rows = []
        for pop, views in layers.items():
            for view in ("accumulated", "isolated"):
                b = views.get(view)
                if b:
                    n = max(b["neurons"], 1)
                    rows.append([pop, view, *[f"{100 * b[c] / n:.3f}%" for c in CATEGORIES], b["mean_abs_error"]])
        parts.append(f"<h3>Per layer at T = {escape(t)} (counts vs the integer reference at L = T)</h3>")
        parts.append(table(["population", "view", "match", "ANN=0 < SNN", "0 < SNN < ANN", "SNN > ANN > 0",
                            "ANN > 0 = SNN", "mean |count error|"], rows))
    if "layer_errors" in images:
        parts.append(image(images["layer_errors"], "mismatch categories per layer"))
    return "".join(parts)


def _rates(stats: dict[str, Any], images: dict[str, bytes]) -> str:
    rows = [[p, t, s["total_steps"], v["spikes"], v["firing_rate"], v["activation_sparsity"]]
            for t, s in stats["per_T"].items() for p, v in s["populations"].items()]
    return (image(images["rates"], "firing-rate histograms") if "rates" in images else "") + table(
        ["population", "T", "steps", "spikes / inference", "firing rate (spikes/neuron/step)", "activation sparsity"],
        rows)


def _operations(stats: dict[str, Any], images: dict[str, bytes]) -> str:
    parts = []
    for t, s in stats["per_T"].items():
        rows = [[lay["synapse"], lay["kind"], ",".join(lay["reads"]), lay["ann_macs"], lay["ann_effective_macs"],
                 s["synapses"][lay["synapse"]]["macs"], s["synapses"][lay["synapse"]]["acs"],
                 s["synapses"][lay["synapse"]]["layer_ops"]] for lay in stats["layers"]]
        tot = s["totals"]
        rows.append(["total", "", "", stats["ann"]["ann_macs"], stats["ann"]["ann_effective_macs"], tot["macs"],
                     tot["acs"], tot["layer_ops"]])
        parts.append(f"<h3>T = {escape(t)} ({s['total_steps']} steps per inference)</h3>")
        parts.append(table(["synapse", "kind", "reads", "ANN MACs", "ANN effective MACs", "SNN MACs (input)",
                            "SNN ACs (spikes x fan-out)", "NeuroBench ops on the layer input"], rows))
        pops = [[p, v["spikes"], v["membrane_updates"], v["neuron_updates"]] for p, v in s["populations"].items()]
        parts.append(table(["population", "spikes", "membrane updates (NeuroBench)", "neuron updates (neurons x steps)"],
                           pops))
        energy = [[e["estimate"], e["nanojoules"], e["formula"], "; ".join(e["sources"])] for e in s["energy"]]
        parts.append(table(["energy estimate per inference", "nJ", "formula", "sources"], energy))
    if "operations" in images:
        parts.append(image(images["operations"], "operations per synapse"))
    parts.append(f'<p class="note">{escape(NOTE)}. Definitions: {escape(stats["definitions"])}</p>')
    return "".join(parts)


def render(doc: dict[str, Any], images: dict[str, bytes]) -> str:
    """The whole page for report ``doc`` (see :mod:`neurodeploy.report.build`) and its plots."""
    body = {
        "summary": _summary(doc),
        "resources": _resources(doc["resources"]),
        "accuracy": (image(images["accuracy"], "accuracy vs T") if "accuracy" in images else "")
        + table(["network", "accuracy"], [[s["stage"], _pct(s["accuracy"])] for s in doc["budget"]["stages"]]
                + [[f"SNN T={e['T']}", _pct(e["accuracy"])] for e in doc["budget"]["snn"]]),
        "budget": _budget(doc["budget"], images),
        "rates": _rates(doc["stats"], images),
        "operations": _operations(doc["stats"], images),
        "raster": image(images["raster"], "spike raster") + f"<p>{escape(doc['raster']['title'])}</p>",
    }
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title in SECTIONS)
    sections = "".join(f'<section id="{key}"><h2>{escape(title)}</h2>{body[key]}</section>' for key, title in SECTIONS)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>neurodeploy report: '
            f'{escape(doc["graph"])}</title><style>{CSS}</style></head><body><h1>neurodeploy report</h1>'
            f"<p>{escape(doc['graph'])}</p><nav>{nav}</nav>{sections}</body></html>\n")
