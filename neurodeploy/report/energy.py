"""Energy *estimates* per inference from operation counts and published per-operation energies.

These are estimates of compute energy only: operation counts (exact, :mod:`neurodeploy.report.stats`)
times one published energy per operation.  Memory access, data movement, static power, spike
routing and membrane updates are not included (no per-operation figure for the latter is cited
here), so they are lower bounds on what any chip spends and only their ratios are meaningful.

Figures (every one carries its source in the output):

* Loihi: 23.6 pJ per synaptic spike operation (minimum; Davies et al., "Loihi: A Neuromorphic
  Manycore Processor with On-Chip Learning", IEEE Micro 38(1), 2018).
* 45 nm CMOS (Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014):
  8-bit integer multiply 0.2 pJ + add 0.03 pJ = int8 MAC 0.23 pJ; 32-bit float multiply 3.7 pJ +
  add 0.9 pJ = fp32 MAC 4.6 pJ; 32-bit integer add 0.1 pJ (the SNN's accumulators are 24-bit).

Estimates: the SNN on Loihi (its ACs at the Loihi figure, the integer input layer's MACs at the
int8 MAC figure), the SNN as adds at 45 nm, and the equivalent ANN (dense MACs) at fp32 and int8.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class OpEnergy:
    """Energy of one operation in picojoules, and where the figure comes from."""

    name: str
    pj: float
    source: str


DAVIES_2018 = "Davies et al., IEEE Micro 38(1), 2018 (Loihi)"
HOROWITZ_2014 = "Horowitz, ISSCC 2014, 45 nm"
LOIHI_SYNOP = OpEnergy("Loihi synaptic spike op", 23.6, DAVIES_2018)
INT8_MAC = OpEnergy("int8 MAC (0.2 mult + 0.03 add)", 0.23, HOROWITZ_2014)
FP32_MAC = OpEnergy("fp32 MAC (3.7 mult + 0.9 add)", 4.6, HOROWITZ_2014)
INT32_ADD = OpEnergy("int32 add", 0.1, HOROWITZ_2014)
FIGURES = (LOIHI_SYNOP, INT8_MAC, FP32_MAC, INT32_ADD)
NOTE = ("ESTIMATE: operation counts x published per-operation energies; compute only (no memory "
        "access, data movement, static power or membrane updates)")


def estimates(acs: float, macs: float, ann_macs: float) -> list[dict[str, Any]]:
    """Per-inference energy estimates in nanojoules for ``acs`` spike ACs and ``macs`` input-layer
    MACs of the SNN and ``ann_macs`` dense MACs of the equivalent ANN."""
    def row(what: str, terms: list[tuple[float, OpEnergy]]) -> dict[str, Any]:
        return {"estimate": what, "nanojoules": sum(n * e.pj for n, e in terms) / 1000.0,
                "formula": " + ".join(f"{n:,.0f} x {e.pj:g} pJ ({e.name})" for n, e in terms),
                "sources": sorted({e.source for _, e in terms})}

    return [row("SNN on Loihi", [(acs, LOIHI_SYNOP), (macs, INT8_MAC)]),
            row("SNN, 45 nm adds", [(acs, INT32_ADD), (macs, INT8_MAC)]),
            row("ANN fp32, 45 nm", [(ann_macs, FP32_MAC)]),
            row("ANN int8, 45 nm", [(ann_macs, INT8_MAC)])]


def figures_json() -> list[dict[str, Any]]:
    """The per-operation figures with their sources."""
    return [asdict(e) for e in FIGURES]


def with_energy(stats: dict[str, Any]) -> dict[str, Any]:
    """``stats`` (:meth:`OpCounter.result`) with ``energy`` estimates at every T, the figures and the note."""
    for entry in stats["per_T"].values():
        tot = entry["totals"]
        entry["energy"] = estimates(tot["acs"], tot["macs"], stats["ann"]["ann_macs"])
    return {**stats, "energy_figures": figures_json(), "energy_note": NOTE}
