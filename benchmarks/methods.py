"""Conversion methods on an MNIST zoo model (``--model cnn|resnet|vgg|mobilenet``): accuracy against TOTAL
time steps per input.

Methods (docs/methods.md §1-§4): QCFS (Bu et al., ICLR 2022; plain IF), NQ (Huang et al., arXiv 2404.17456;
noise-aware QAT, plain IF), SRP (Hao et al., AAAI 2023; τ pre-simulation steps + gate, run on the QCFS model;
total steps = τ + T) and SpikeConverter reconstruction A (Liu et al., AAAI 2022; two-phase windows of L steps,
one point at latency (D+1)·L), beside the QAT ANN (clean: noise off) and the integer ANN reference.  Every SNN
number comes from the bit-exact CPU simulator.  Also: per-layer layer-local mismatch categories at T = L
(methods.md §0.3: n_ann = clip(floor((v0 + Σ(I+b))/Θ), 0, T), checked against I5's n_ann from v(T)).

    python benchmarks/methods.py [--model resnet] [--levels 2,4] [--cache runs/methods_cache] [--test-samples 10000]

Checkpoints are cached under ``--cache`` (``{model}_{qcfs,nq}_L{L}``; reruns skip training; seeds fixed).  Writes JSON
(``--out``) and a PNG plot (``--plot``).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def train_cached(method: str, levels: int, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """Train (or reuse) the ``method`` ("qcfs" | "nq") model with ``levels`` L; returns (checkpoint, info)."""
    from neurodeploy.data import load_dataset
    from neurodeploy.quant.nq import NQSigmaEstimator
    from neurodeploy.quant.train import train

    tag = f"{method}_L{levels}" if args.model == "cnn" else f"{args.model}_{method}_L{levels}"
    ckpt = Path(args.cache) / tag
    info_file = Path(args.cache) / f"{tag}.history.json"
    if (ckpt / "model.pt").is_file() and info_file.is_file():
        info = json.loads(info_file.read_text())
        want = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed}
        used = info.get("train_samples_arg", info.get("train_samples"))
        if all(info.get(k) == v for k, v in want.items()) and used in (args.train_samples, None if
                                                                       args.train_samples else 60000):
            return ckpt, info
    info_file.unlink(missing_ok=True)
    data = load_dataset("mnist", args.data_dir)
    if args.train_samples:
        data = replace(data, x_train=data.x_train[: args.train_samples], y_train=data.y_train[: args.train_samples])
    est = NQSigmaEstimator(input_bits=data.input_bits) if method == "nq" else None
    t0 = time.perf_counter()
    _, hist = train(args.model, data, levels=levels, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                    seed=args.seed, progress=False, out=ckpt, noise=method == "nq", sigma_estimator=est)
    info = {"model": args.model, "method": method, "levels": levels, "epochs": args.epochs, "train_samples": len(data.y_train),
            "train_samples_arg": args.train_samples, "lr": args.lr,
            "batch_size": args.batch_size, "seed": args.seed, "wall_s": time.perf_counter() - t0,
            **{k: v for k, v in hist.items()}}
    if est is not None:
        info["nq_estimates"] = est.history
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    info_file.write_text(json.dumps(info, indent=1, default=float))
    return ckpt, info


def ann_accuracies(ckpt: Path, x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    """Clean (eval mode, noise off) ANN accuracy and, if any σ > 0, the noisy (train-mode) accuracy."""
    import torch

    from neurodeploy.quant.checkpoint import load_checkpoint
    from neurodeploy.quant.noise import get_noise
    from neurodeploy.quant.train import evaluate

    model, config = load_checkpoint(ckpt)
    scale = float(config["input_scale"])
    out = {"ann_clean": evaluate(model, x, y, scale)}
    if any(s > 0 for s in get_noise(model)):
        torch.manual_seed(seed)
        model.train()  # zoo models have no BN/dropout: train mode only switches the NQ noise on
        with torch.no_grad():
            logits = torch.cat([model(torch.as_tensor(x[i:i + 1000], dtype=torch.float32) * scale)
                                for i in range(0, len(x), 1000)])
        out["ann_noisy"] = float((logits.argmax(1).numpy() == y).mean())
        model.eval()
    return out


def accuracy_vs_total(ckpt: Path, method: str, x: np.ndarray, y: np.ndarray, max_total: int,
                      tau: int = 0) -> dict[int, float]:
    """``{total steps: accuracy}`` for one converted schedule (one simulator run)."""
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.pipeline import convert_checkpoint

    graph, _ = convert_checkpoint(ckpt, method=method, tau=tau or 4)
    if method == "spikeconverter":
        window = graph.schedule.window
        trace = simulate(graph, x, window)
        return {int(trace.steps): float(trace.accuracy_per_step(y)[-1])}
    useful = max_total - graph.schedule.total_steps(0, graph.depth)
    trace = simulate(graph, x, useful)
    acc = trace.accuracy_per_step(y)
    first = trace.first_useful_step
    return {first + t: float(acc[first + t - 1]) for t in range(1, useful + 1)}


def categories_at_L(ckpt: Path, x: np.ndarray, chunk: int = 250) -> dict[str, Any]:
    """Layer-local mismatch categories (methods.md §0.3) per population at T = L, plain schedule."""
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.pipeline import convert_checkpoint
    from neurodeploy.reference import CATEGORIES, layer_local_counts, mismatch_categories

    graph, report = convert_checkpoint(ckpt, method="qcfs")
    levels = int(graph.meta["levels"])
    pops = [p.name for p in graph.populations()]
    totals = {p: dict.fromkeys(CATEGORIES, 0) for p in pops}
    i5_ok = True
    for start in range(0, len(x), chunk):
        trace = simulate(graph, x[start:start + chunk], levels, probes=pops, record_v=True, record_current=True)
        for p in pops:
            n_in, n_res, n = layer_local_counts(graph, trace, p)
            i5_ok &= bool(np.array_equal(n_in, n_res))
            for k, v in mismatch_categories(n_in, n).items():
                totals[p][k] += v
    pct = {p: {k: 100.0 * v / max(1, sum(c.values())) for k, v in c.items()} for p, c in totals.items()}
    return {"T": levels, "samples": int(len(x)), "counts": totals, "percent": pct, "i5_consistent": i5_ok,
            "conversion_exact": bool(report.exact)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from neurodeploy.data import load_dataset
    from neurodeploy.pipeline import convert_checkpoint
    from neurodeploy.reference import ann_reference

    data = load_dataset("mnist", args.data_dir)
    x, y = np.asarray(data.x_test[: args.test_samples]), np.asarray(data.y_test[: args.test_samples])
    out: dict[str, Any] = {"model": args.model, "machine": f"{platform.machine()}, 2 cores, no GPU, Python {platform.python_version()}",
                           "date": date.today().isoformat(), "test_samples": int(len(y)), "levels": {}}
    for L in args.levels:
        row: dict[str, Any] = {"train": {}, "ann": {}, "curves": {}, "categories": {}, "sim_s": {}}
        for method in ("qcfs", "nq"):
            ckpt, info = train_cached(method, L, args)
            row["train"][method] = {k: info[k] for k in ("epochs", "train_samples", "lr", "batch_size", "seed", "wall_s",
                                                         "best_epoch", "best_val_acc", "test_acc", "val_acc")}
            row["train"][method]["sigmas"] = info["sigmas"][-1]
            if args.train_only:
                continue
            row["ann"][method] = ann_accuracies(ckpt, x, y, args.seed)
            graph, _ = convert_checkpoint(ckpt)
            ref = ann_reference(graph, x, L)
            row["ann"][method]["integer_reference"] = float((ref.logits.argmax(1) == y).mean())
            jobs = [(method, method, 0)]
            if method == "qcfs":
                jobs += [(f"srp_tau{t}", "srp", t) for t in args.taus] + [("spikeconverter", "spikeconverter", 0)]
            for name, schedule, tau in jobs:
                t0 = time.perf_counter()
                row["curves"][name] = accuracy_vs_total(ckpt, schedule, x, y, args.max_steps, tau)
                row["sim_s"][name] = time.perf_counter() - t0
                first = min(row["curves"][name])
                print(f"L={L} {name}: {row['curves'][name][first]:.4f} at total {first} "
                      f"({row['sim_s'][name]:.0f} s)", flush=True)
            row["categories"][method] = categories_at_L(ckpt, x[: args.category_samples])
        out["levels"][L] = row
    return out


TOTALS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32)
CAT_NAMES = {"match": "match", "ann0_snn_pos": "ANN=0∧SNN>0", "under": "0<SNN<ANN", "over": "SNN>ANN>0",
             "ann_pos_snn0": "ANN>0∧SNN=0"}


def markdown(result: dict[str, Any]) -> str:
    """Markdown tables (training, accuracy vs total steps, mismatch categories) for BENCHMARKS.md."""
    out: list[str] = []
    for L, row in result["levels"].items():
        out += [f"**L = {L}** — training (MNIST {result.get('model', 'cnn')}, Adam + cosine, seed fixed; test = first "
                f"{result['test_samples']} MNIST test images)", "",
                "| model | epochs | train images | wall s | best val | ANN clean (test) | ANN noisy | int. ref | σ_l |",
                "|---|---|---|---|---|---|---|---|---|"]
        for m, tr in row["train"].items():
            ann = row["ann"].get(m, {})
            noisy = f"{100 * ann['ann_noisy']:.2f}" if "ann_noisy" in ann else "–"
            out.append(f"| {m} | {tr['epochs']} | {tr['train_samples']} | {tr['wall_s']:.0f} | "
                       f"{100 * tr['best_val_acc']:.2f} | {100 * ann.get('ann_clean', float('nan')):.2f} | {noisy} | "
                       f"{100 * ann.get('integer_reference', float('nan')):.2f} | "
                       f"{', '.join(f'{s:.3f}' for s in tr['sigmas']) if m == 'nq' else '–'} |")
        curves = {n: {int(t): a for t, a in c.items()} for n, c in row["curves"].items()}
        out += ["", f"Accuracy (%) against total steps per input (L = {L}):", "",
                "| total steps | " + " | ".join(curves) + " |", "|---" * (len(curves) + 1) + "|"]
        for t in sorted(set(TOTALS) | {t for c in curves.values() if len(c) == 1 for t in c}):
            cells = [f"{100 * c[t]:.2f}" if t in c else "–" for c in curves.values()]
            out.append(f"| {t} | " + " | ".join(cells) + " |")
        out += ["", f"Layer-local mismatch categories at T = L = {L} (% of neurons × images):", "",
                "| model | layer | " + " | ".join(CAT_NAMES.values()) + " |", "|---" * (len(CAT_NAMES) + 2) + "|"]
        for m, cat in row["categories"].items():
            for layer, pct in cat["percent"].items():
                out.append(f"| {m} | {layer} | " + " | ".join(f"{pct[k]:.2f}" for k in CAT_NAMES) + " |")
        out.append("")
    return "\n".join(out)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = list(result["levels"])
    fig, axes = plt.subplots(1, len(levels), figsize=(5.5 * len(levels), 4), squeeze=False)
    for ax, L in zip(axes[0], levels):
        row = result["levels"][L]
        for name, raw in row["curves"].items():
            curve = {int(t): float(a) for t, a in raw.items()}   # JSON round trips turn keys into str
            ts = sorted(curve)
            style = "*" if len(ts) == 1 else ".-"
            ax.plot(ts, [100 * curve[t] for t in ts], style, label=name, markersize=10 if len(ts) == 1 else 5)
        for method, ls in (("qcfs", "--"), ("nq", ":")):
            if method in row["ann"]:
                ax.axhline(100 * row["ann"][method]["ann_clean"], color="k", ls=ls, lw=0.8,
                           label=f"{method} QAT ANN (clean)")
        ax.set_xscale("log", base=2)
        ax.set_ylim(bottom=max(0.0, ax.get_ylim()[0]))
        ax.set_xlabel("total time steps per input")
        ax.set_ylabel("MNIST test accuracy (%)")
        ax.set_title(f"{result.get('model', 'cnn')}, L = {L} ({result['test_samples']} test images)")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="cnn", help="zoo model trained on MNIST (cnn, resnet, vgg, mobilenet)")
    p.add_argument("--levels", default="2,4", help="comma-separated L values")
    p.add_argument("--taus", default="2,4", help="SRP pre-simulation steps")
    p.add_argument("--cache", default="runs/methods_cache", help="checkpoint cache folder")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--test-samples", type=int, default=10000)
    p.add_argument("--category-samples", type=int, default=1000, help="test images for the categories")
    p.add_argument("--max-steps", type=int, default=32, help="largest total steps per input")
    p.add_argument("--epochs", type=int, default=3, help="NQ needs >= 2 (epoch 0 is noise-free)")
    p.add_argument("--train-samples", type=int, default=None, help="use the first N training images")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-only", action="store_true", help="only train/cache the checkpoints")
    p.add_argument("--markdown", type=Path, default=None, help="print Markdown tables of a result JSON and exit")
    p.add_argument("--merge", nargs="+", type=Path, default=None,
                   help="merge result JSONs of separate --levels runs into --out/--plot and exit")
    p.add_argument("--out", type=Path, default=RESULTS / "methods.json")
    p.add_argument("--plot", type=Path, default=RESULTS / "methods.png")
    args = p.parse_args()
    try:
        args.levels = [int(v) for v in args.levels.split(",")]
        args.taus = [int(v) for v in args.taus.split(",")]
    except ValueError as err:
        p.error(f"--levels/--taus: comma-separated integers expected ({err})")
    for f in ([args.markdown] if args.markdown else []) + (args.merge or []):
        if not f.is_file():
            p.error(f"{f}: no such result JSON")
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    if args.merge:
        parts = [json.loads(f.read_text()) for f in args.merge]
        merged = {**parts[0], "levels": {k: v for part in parts for k, v in part["levels"].items()},
                  "wall_s": sum(part["wall_s"] for part in parts),
                  "command": " ; ".join(part["command"] for part in parts)}
        args.out.write_text(json.dumps(merged, indent=1, default=float))
        plot(merged, args.plot)
        print(f"wrote {args.out} and {args.plot}")
        return
    t0 = time.perf_counter()
    result = run(args)
    result["command"] = "python benchmarks/methods.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in (("model", args.model), ("levels", ",".join(map(str, args.levels))),
                                                     ("test_samples", args.test_samples),
                                                     ("category_samples", args.category_samples),
                                                     ("epochs", args.epochs), ("train_samples", args.train_samples),
                                                     ("out", args.out)))
    result["wall_s"] = time.perf_counter() - t0
    if args.train_only:
        print(json.dumps(result, indent=1, default=float))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float))
    plot(result, args.plot)
    print(f"wrote {args.out} and {args.plot} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
