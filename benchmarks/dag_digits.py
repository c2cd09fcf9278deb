"""Real-network DAGs on sklearn digits (seen as 1x8x8 images) through the CLI, end to end.

For each zoo model (``resnet``, ``vgg``, ``mobilenet``): ``train`` (recipe, seed 0) -> ``convert``
(integer reference checked against the Brevitas ANN) -> ``eval --json`` (ANN, integer reference,
agreement, SNN at T = 1..32 on all 450 test images) -> ``verify --target lava`` (10 samples, T = 8,
zero tolerance).  Prints a Markdown table and writes JSON.

    python benchmarks/dag_digits.py [--models resnet,vgg,mobilenet] [--out benchmarks/results/dag_digits.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> tuple[dict, float]:
    """Run ``neurodeploy ARGS --json``; returns the parsed JSON and the wall time."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "neurodeploy", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1) or not done.stdout.strip().startswith("{"):
        sys.exit(f"neurodeploy {args[0]} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout), wall


def run_model(model: str, runs: Path, samples: int) -> dict:
    ckpt, graph = runs / model / "ckpt", runs / model / "graph"
    train, t_train = cli("train", "--model", model, "--dataset", "digits", "--levels", "4", "--seed", "0",
                         "--out", str(ckpt))
    conv, t_conv = cli("convert", str(ckpt), "--out", str(graph))
    info, _ = cli("inspect", str(graph))
    ev, t_eval = cli("eval", str(graph), "--checkpoint", str(ckpt), "--steps", "1,2,4,8,16,32")
    ver, t_ver = cli("verify", str(graph), "--target", "lava", "--samples", str(samples), "--steps", "8")
    pops = [n for n in info["nodes"] if n["type"] == "IFPopulation"]
    return {"model": model, "train_s": t_train, "convert_s": t_conv, "eval_s": t_eval, "verify_s": t_ver,
            "depth": info["depth"], "populations": len(pops), "neurons": sum(n["neurons"] for n in pops),
            "merges": sum(1 for n in info["nodes"] if n.get("merge")), "exact": conv["exact"],
            "ann_check": conv.get("ann_check"), "ann": ev.get("ann"), "integer_reference": ev["integer_reference"],
            "agreement": ev.get("agreement_reference_vs_ann"), "snn": ev["snn"], "epochs": train["epochs"],
            "test_acc": train["test_acc"], "lava_ok": ver["ok"], "lava_samples": ver["samples"],
            "lava_mismatches": sum(ver["mismatches"].values()), "lava_backend_s": ver["timings"]["backend_s"]}


def markdown(rows: list[dict]) -> str:
    head = ("| model | D | neurons | merges | exact | int. ref == ANN | ANN | T=1 | T=2 | T=4 | T=8 | T=16 | T=32 "
            "| Lava (10 × T=8) |")
    out = [head, "|---" * 16 + "|"]
    for r in rows:
        snn = {int(k): v for k, v in r["snn"].items()}
        out.append(f"| {r['model']} | {r['depth']} | {r['neurons']} | {r['merges']} | {r['exact']} | "
                   f"{100 * r['agreement']:.2f} % | {100 * r['ann']:.2f} | "
                   + " | ".join(f"{100 * snn[t]:.2f}" for t in (1, 2, 4, 8, 16, 32))
                   + f" | {'0 mismatches' if r['lava_ok'] else str(r['lava_mismatches']) + ' mismatches'} "
                     f"({r['lava_backend_s']:.0f} s) |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="resnet,vgg,mobilenet")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "dag_digits")
    p.add_argument("--samples", type=int, default=10, help="Lava verification samples")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dag_digits.json")
    args = p.parse_args()
    rows = [run_model(m, args.runs, args.samples) for m in args.models.split(",")]
    doc = {"machine": f"{platform.machine()}, 2 cores, no GPU, Python {platform.python_version()}",
           "date": date.today().isoformat(), "command": "python benchmarks/dag_digits.py " + " ".join(sys.argv[1:]),
           "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1))
    print(markdown(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
