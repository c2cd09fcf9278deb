"""Simulator speed: neurodeploy's exact simulator (numpy ``impl="fast"`` and ``impl="torch"``)
against SpikingJelly's multi-step IF simulation of the same network, inputs and T.

    python benchmarks/simulator_vs_peers.py                       # full grid (quiet machine!)
    python benchmarks/simulator_vs_peers.py --steps 1 4 --batches 1 100 --out /tmp/quick.json

Networks (random weights): ``mnist_cnn`` (conv16 5x5 - pool - conv32 5x5 - pool - fc128 - fc10,
the shape of the zoo's MNIST CNN, :func:`cpusim_throughput.mnist_shaped_graph`) and ``resnet``
(the zoo resnet for 1x28x28, untrained, converted with ``network_from_brevitas`` + ``integerize``).
SpikingJelly runs the *equivalent float network*, built from the integer graph: each synapse as
``layer.Conv2d`` / ``layer.Linear`` (weights ``W * 2**weight_exp``, per-channel bias), each
population as ``neuron.IFNode`` (soft reset, its threshold), merges as sums, pools as
``layer.AvgPool2d``, the readout as the running sum of its input; multi-step mode (``[T, B, ...]``),
eval, ``inference_mode``.  ``spikingjelly`` feeds the input repeated ``T`` times (its usual
direct-input usage); ``spikingjelly-static`` evaluates the input-only layers once and repeats their
output (what neurodeploy does), the fairer peer; ``spikingjelly-heldmem`` runs SpikingJelly
under neurodeploy's allocator policy (freed blocks kept for reuse during the run,
:mod:`neurodeploy.backends.cpusim.host_memory`), to show how much of the gap that policy alone
explains.  Large batches run in mini-batches sized to ``--peer-budget-mb`` of float activations
(default: the same budget as our chunks).

Each cell (implementation x network x T x batch) runs in its own process: seconds = best of
``--repeats`` timed runs after a 2-sample warm-up; peak memory = ``ru_maxrss`` of that process
(imports included) and its growth over the resident size before the timed runs.  With
``--rounds R`` every cell's implementations run in turn R times (A B C A B C ...), a fresh process
each: a row's seconds are the median of its rounds, and its ratio to SpikingJelly is the median of
the per-round ratios, so a drift in the machine's speed during the run moves both sides alike.
The readouts of our implementations in every cell are compared (sha256), so the table also
certifies they agree.  With CUDA present, ``neurodeploy-torch-cuda`` and ``spikingjelly-cuda``
time both on the GPU (ratio against the peer on the same device; our CUDA readout joins the hash
check; peak GPU memory as ``peak_gpu_mb``); without it they are left out, or recorded as skipped
when named in ``--impls``.  SpikingJelly is a benchmark-only dependency:
``pip install --no-deps spikingjelly==2.0.0 loguru requests``.  Writes JSON (``--out``) and
prints a Markdown table.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.backends.cpusim.folded import MEMORY_BUDGET

sys.path.insert(0, str(Path(__file__).resolve().parent))

IMPLS = ("neurodeploy-numpy", "neurodeploy-torch", "spikingjelly", "spikingjelly-static", "spikingjelly-heldmem")
CUDA_IMPLS = ("neurodeploy-torch-cuda", "spikingjelly-cuda")   # default only where CUDA is present


def cuda_present() -> bool:
    """Whether torch sees a CUDA device (the CUDA cells need one)."""
    import torch
    return bool(torch.cuda.is_available())


def cpu_description() -> str:
    """The CPU's model name and widest vector extension (results differ between AVX2 and AVX-512 hosts)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")),
                 platform.processor() or "unknown")
    flags: set[str] = next((set(ln.split(":", 1)[1].split()) for ln in info.splitlines()
                            if ln.startswith("flags")), set())
    widest = next((f for f in ("avx512f", "avx2", "avx", "neon") if f in flags), "unknown vector unit")
    return f"{model} ({widest})"


def same_device_peer(impl: str) -> str:
    """The SpikingJelly cell an implementation's ratio is taken against: the one on its device."""
    return "spikingjelly-cuda" if impl.endswith("-cuda") else "spikingjelly"


def build_graph(net: str) -> Any:
    """The integer graph of network ``net`` (deterministic random weights)."""
    if net == "mnist_cnn":
        from cpusim_throughput import mnist_shaped_graph
        return mnist_shaped_graph(0)
    if net == "resnet":
        import torch
        from neurodeploy.quant.models import build_model

        from neurodeploy.convert.from_brevitas import network_from_brevitas
        from neurodeploy.convert.integerize import integerize
        from neurodeploy.convert.stages import InputSpec
        torch.manual_seed(0)
        model = build_model("resnet", input_shape=[1, 28, 28]).eval()
        return integerize(network_from_brevitas(model, InputSpec((1, 28, 28), 8, 1 / 256)))[0]
    raise ValueError(f"--nets: unknown network {net!r} (mnist_cnn, resnet)")


def spikingjelly_model(graph: Any, static_inputs: bool, device: str = "cpu") -> Any:
    """The float multi-step SpikingJelly network equivalent to ``graph`` on ``device`` (a callable
    on ``x`` (B, *input) returning the readout after every step, (T, B, n_out))."""
    import torch
    from spikingjelly.activation_based import functional, layer, neuron

    mods: dict[str, Any] = {}
    static: set[str] = set()
    for n in graph.nodes:
        kind = type(n).__name__
        if n.role == "input" or (n.role in ("synapse", "tensor") and all(s in static for s in n.inputs)):
            static.add(n.name)
        if kind == "Conv":
            co, ci_g, kh, kw = n.weight.shape
            m = layer.Conv2d(ci_g * n.groups, co, (kh, kw), n.stride, n.padding, n.dilation, n.groups,
                             bias=False, step_mode="m")
            m.weight.data = torch.tensor(n.weight * 2.0 ** n.weight_exp, dtype=torch.float32)
        elif kind == "Dense":
            m = layer.Linear(n.weight.shape[1], n.weight.shape[0], bias=False, step_mode="m")
            m.weight.data = torch.tensor(n.weight * 2.0 ** n.weight_exp, dtype=torch.float32)
        elif kind == "IFPopulation":
            m = neuron.IFNode(v_threshold=float(n.threshold.mean()), v_reset=None, step_mode="m")
        elif kind == "SumPool":
            m = layer.AvgPool2d(n.kernel, n.stride, n.padding, step_mode="m")
        elif kind == "Flatten":
            m = layer.Flatten(step_mode="m")
        else:
            m = None
        if m is not None:
            mods[n.name] = m
    bias = {n.name: torch.tensor(n.bias.reshape(n.bias.shape[0], -1).mean(axis=1) if n.bias.ndim > 1 else n.bias,
                                 dtype=torch.float32, device=device).reshape(-1, *([1] * (n.bias.ndim - 1)))
            for n in graph.nodes if n.role in ("population", "readout")}
    net = torch.nn.ModuleDict(mods).eval().to(device)

    def forward(x: Any, steps: int) -> Any:
        vals: dict[str, Any] = {}
        for n in graph.nodes:
            if n.role == "input":
                vals[n.name] = x.float().unsqueeze(0)            # (1, B, ...): repeated below
                if not static_inputs:
                    vals[n.name] = vals[n.name].repeat(steps, *([1] * x.dim()))
                continue
            ins = [vals[s] for s in n.inputs]
            if n.role in ("population", "readout"):
                ins = [v.expand(steps, *v.shape[1:]) for v in ins]
                cur = torch.stack(ins).sum(0) if len(ins) > 1 else ins[0]
                cur = cur + bias[n.name]
                vals[n.name] = net[n.name](cur) if n.role == "population" else cur.cumsum(0)
            elif type(n).__name__ == "Concat":
                ins = [v.expand(max(u.shape[0] for u in ins), *v.shape[1:]) for v in ins]
                vals[n.name] = torch.cat(ins, dim=2)
            else:
                vals[n.name] = net[n.name](ins[0])
        functional.reset_net(net)
        return vals[graph.readout.name]

    return forward


def run_cell(cfg: dict[str, Any]) -> dict[str, Any]:
    """One timed cell in this process (``--worker``)."""
    impl, steps, batch = cfg["impl"], cfg["steps"], cfg["batch"]
    if cfg.get("torch_threads"):
        import torch
        torch.set_num_threads(cfg["torch_threads"])              # ours and SpikingJelly alike
    device = "cuda" if impl.endswith("-cuda") else "cpu"
    if device == "cuda" and not cuda_present():
        return {**cfg, "skipped": "no CUDA device"}
    graph = build_graph(cfg["net"])
    x = np.random.default_rng(1).integers(0, 1 << graph.input.bits, size=(batch, *graph.input.shape))
    if impl.startswith("neurodeploy"):
        from neurodeploy.backends.cpusim import simulate
        kind = "fast" if impl == "neurodeploy-numpy" else "torch"

        def once(xs: np.ndarray) -> np.ndarray:
            return simulate(graph, xs, steps, impl=kind, device=device if kind == "torch" else None).readout
    else:
        import torch
        from neurodeploy.backends.cpusim.host_memory import reuse_freed_memory
        model = spikingjelly_model(graph, static_inputs=impl == "spikingjelly-static", device=device)
        per_sample = 4 * steps * sum(int(np.prod(s)) for s in graph.shapes().values())
        mini = max(1, min(batch, (cfg["peer_budget_mb"] << 20) // per_sample))
        held = impl == "spikingjelly-heldmem"

        def once(xs: np.ndarray) -> np.ndarray:
            with torch.inference_mode(), (reuse_freed_memory() if held else contextlib.nullcontext()):
                xt = torch.from_numpy(xs).to(device)
                outs = [model(xt[i:i + mini], steps) for i in range(0, len(xs), mini)]
                return torch.cat(outs, 1).cpu().numpy()                  # .cpu() waits for the device
    once(x[:2])                                                          # warm-up (imports, jit, BLAS)
    base = _rss_mb()
    best, out = float("inf"), None
    for _ in range(cfg["repeats"]):
        t0 = time.perf_counter()
        out = once(x)
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device == "cuda":
        import torch
        cfg = {**cfg, "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
    return {**cfg, "seconds": best, "images_per_s": batch / best, "peak_rss_mb": round(peak, 1),
            "peak_growth_mb": round(max(0.0, peak - base), 1),
            "readout_sha256": hashlib.sha256(np.ascontiguousarray(out, np.int64).tobytes()).hexdigest()
            if impl.startswith("neurodeploy") else None}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spawn(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run one cell in a fresh process; its last stdout line is the JSON result."""
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        return {**cfg, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from an implementation's rounds: median seconds, every round's seconds kept,
    the largest peak memory."""
    failed = [r for r in rounds if "error" in r or "skipped" in r]
    if failed:
        return failed[0]
    secs = [r["seconds"] for r in rounds]
    row = {**rounds[0], "seconds": float(np.median(secs)), "round_seconds": secs}
    row["images_per_s"] = row["batch"] / row["seconds"]
    for key in ("peak_rss_mb", "peak_growth_mb", "peak_gpu_mb"):
        if key in row:
            row[key] = max(r[key] for r in rounds)
    return row


def ratio(peer: dict[str, Any] | None, row: dict[str, Any]) -> float | None:
    """Peer seconds / this row's seconds: the median of the per-round ratios where both ran the
    same rounds."""
    if not peer or "seconds" not in peer:
        return None
    a, b = peer.get("round_seconds"), row.get("round_seconds")
    if a and b and len(a) == len(b):
        return float(np.median([x / y for x, y in zip(a, b)]))
    return float(peer["seconds"] / row["seconds"])


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per (network, T, batch), seconds / images/s / ratio to SpikingJelly."""
    head = ("| network | T | batch | impl | seconds | images/s | SJ s / this s (same device) | "
            "SJ-static s / this s | peak RSS MB (growth) |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    cells: dict[tuple[str, int, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["net"], r["steps"], r["batch"]), {})[r["impl"]] = r
    for (net, steps, batch), by in cells.items():
        for impl, r in by.items():
            if "error" in r or "skipped" in r:
                why = f"error: {r['error'][:60]}" if "error" in r else f"skipped: {r['skipped']}"
                lines.append(f"| {net} | {steps} | {batch} | {impl} | {why} | | | | |")
                continue
            sj = ratio(by.get(same_device_peer(impl)), r)
            sjs = None if impl.endswith("-cuda") else ratio(by.get("spikingjelly-static"), r)
            s = r["seconds"]
            lines.append(f"| {net} | {steps} | {batch} | {impl} | {s:.3f} | {r['images_per_s']:.0f} | "
                         f"{f'{sj:.2f}' if sj else '-'} | {f'{sjs:.2f}' if sjs else '-'} | "
                         f"{r['peak_rss_mb']:.0f} ({r['peak_growth_mb']:.0f}) |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--nets", nargs="+", default=["mnist_cnn", "resnet"])
    ap.add_argument("--steps", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 100, 10000])
    ap.add_argument("--impls", nargs="+", default=None, choices=IMPLS + CUDA_IMPLS,
                    help="implementations to time (default: all; the -cuda ones only where CUDA is present)")
    ap.add_argument("--repeats", type=int, default=0, help="timed runs per cell (0: 5 / 3 / 1 by batch)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each cell's implementations in turn this many times (median; paired ratios)")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--peer-budget-mb", type=int, default=MEMORY_BUDGET >> 20,
                    help="SpikingJelly mini-batch budget in MiB of float activations (default: our chunk budget)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/simulator_vs_peers.json"))
    args = ap.parse_args()
    if args.rounds < 1 or args.repeats < 0:
        ap.error(f"--rounds must be >= 1 and --repeats >= 0 (got {args.rounds}, {args.repeats})")
    if args.out.is_dir():
        ap.error(f"--out {args.out}: is a folder; give the JSON file to write")
    if args.worker:
        print(json.dumps(run_cell(json.loads(args.worker))))
        return
    impls = args.impls or list(IMPLS) + (list(CUDA_IMPLS) if cuda_present() else [])
    rows: list[dict[str, Any]] = []
    for net in args.nets:
        for steps in args.steps:
            for batch in args.batches:
                repeats = args.repeats or (5 if batch <= 1 else 3 if batch <= 100 else 1)
                runs = [[spawn({"impl": i, "net": net, "steps": steps, "batch": batch, "repeats": repeats,
                                "torch_threads": args.torch_threads, "peer_budget_mb": args.peer_budget_mb})
                         for i in impls] for _ in range(args.rounds)]
                cell = [merge_rounds([rnd[k] for rnd in runs]) for k in range(len(impls))]
                hashes = {r.get("readout_sha256") for r in cell if r.get("readout_sha256")}
                for r in cell:
                    r["numpy_torch_identical"] = len(hashes) <= 1
                if len(hashes) > 1:
                    raise SystemExit(f"{net} T={steps} batch={batch}: readouts of "
                                     f"{', '.join(i for i in impls if i.startswith('neurodeploy'))} differ "
                                     "(every neurodeploy implementation must agree)")
                rows.extend(cell)
                print("\n".join(table(cell).splitlines()[2:]), flush=True)
    import torch
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "date": date.today().isoformat(),
            "cuda_device": torch.cuda.get_device_name(0) if cuda_present() else None,
            "cpu": cpu_description(),
            "load_average_at_end": os.getloadavg(), "command": " ".join(sys.argv)}
    try:
        from importlib.metadata import version

        import spikingjelly  # noqa: F401
        meta["spikingjelly"] = version("spikingjelly")
    except ImportError:
        meta["spikingjelly"] = "not installed"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
