"""Fuzz the artifact loaders at scale and print/write a JSON table of outcome classes.

    python benchmarks/fuzz_artifacts.py                       # 10,000 graphs, 1,000 checkpoints, 1,000 bundles
    python benchmarks/fuzz_artifacts.py --scale 0.02          # a quick 2% run
    python benchmarks/fuzz_artifacts.py --out benchmarks/results/fuzz_artifacts.json

Classes (see neurodeploy.harness.fuzz): accepted-valid, accepted-forged (re-signed mutations
only), refused-cleanly, defect.  Exit status 1 when any defect was found.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from neurodeploy.harness.fuzz import describe, fuzz_all, summarize


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=10_000)
    ap.add_argument("--checkpoints", type=int, default=1_000, help="0 skips them (needs torch)")
    ap.add_argument("--bundles", type=int, default=1_000)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (e.g. 0.02)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the JSON table here")
    args = ap.parse_args()
    sizes = [max(1, round(n * args.scale)) if n else 0 for n in (args.graphs, args.checkpoints, args.bundles)]
    outcomes, seconds = fuzz_all(*sizes, seed=args.seed)
    doc = {"seed": args.seed, "cases": dict(zip(("graphs", "checkpoints", "bundles"), sizes)),
           "seconds": seconds, **summarize(outcomes)}
    print(describe(outcomes))
    print(json.dumps(doc, indent=2, sort_keys=True))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return 1 if doc["defects"] else 0


if __name__ == "__main__":
    sys.exit(main())
