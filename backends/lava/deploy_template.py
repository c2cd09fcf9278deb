#!/usr/bin/env python3
"""Run this neurodeploy Lava bundle (copied verbatim from neurodeploy's deploy_template.py).

Requires neurodeploy and lava-nc 0.10.0 installed in the running Python:
    pip install neurodeploy
    pip install --ignore-requires-python lava-nc==0.10.0 "numpy<2" "scipy<1.16" "scikit-learn<1.8"

Usage:
    python deploy.py            run the test vectors on Loihi2SimCfg(select_tag="fixed_pt")
    python deploy.py --check    ... and compare readout and spike counts with the CPU
                                simulator's expectations (zero tolerance; exit 1 on mismatch)
    python deploy.py --hardware use Loihi2HwCfg instead.  UNTESTED: chip runs need Intel's
                                INRC-only lava-loihi extension, and neurodeploy's custom IF
                                neuron needs a microcode NeuroCore model that does not exist
                                publicly; only stock-LIF bundles (target lava-sim-lif) could map.

Nothing is imported from this folder: the script drops its own folder from ``sys.path`` before
its first import (as ``python -I`` would), so a ``json.py`` or ``neurodeploy/`` placed next to
it is never run; the bundle is then refused because those files are not in manifest.json.
Before anything runs, every file must be listed in manifest.json with its SHA-256, and nothing
else may be in the folder (``__pycache__`` included).

Exit status: 0 ok, 1 mismatch, 2 damaged bundle (unlisted files, or hashes differ from
manifest.json).
"""
import sys

if not sys.flags.safe_path and sys.path:      # sys.path[0] is this script's folder: never import from it
    del sys.path[0]
sys.dont_write_bytecode = True                # and never leave a __pycache__ behind

# Every other import comes after the bundle folder left sys.path.

import argparse
import json
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with test_vectors.npz")
    ap.add_argument("--hardware", action="store_true", help="Loihi2HwCfg (untested, INRC only)")
    ap.add_argument("--bundle", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    try:
        from neurodeploy.backends.lava.bundle import run_bundle
    except ImportError as exc:
        print(f"neurodeploy is required to run this bundle: {exc}", file=sys.stderr)
        return 2
    if args.hardware:
        print("WARNING: --hardware is untested (needs lava-loihi, INRC only).", file=sys.stderr)
    status, summary = run_bundle(args.bundle, hardware=args.hardware, check=args.check)
    print(json.dumps(summary, indent=2, sort_keys=True))
    print("OK" if status == 0 else ("MISMATCH" if status == 1 else "DAMAGED BUNDLE"))
    return status


if __name__ == "__main__":
    sys.exit(main())
