"""Seeded fuzzing of the artifact loaders: graph folders, checkpoints and bundles.

Each case copies a genuine artifact, applies one mutation (:mod:`.fuzz_mutate`) and loads it.
Outcome classes:

``accepted-valid``   loaded, and semantically identical to the original;
``accepted-forged``  loaded after a *re-signed* mutation (hashes recomputed, as a forger could):
                     hashes detect edits and damage, not forgery; the loaded artifact then went
                     through the downstream checks (graph: ``verify_graph`` + ``inspect_graph``;
                     CPU bundle: replay) without an unexpected exception;
``refused-cleanly``  a ValueError (IRError, ManifestError, BundleError, CheckpointError) whose
                     message is one line naming the file, field or folder;
``defect``           anything else: another exception, a multi-line or anonymous message, a hang,
                     or a raw (not re-signed) mutation accepted with different content.
"""
from __future__ import annotations

import contextlib
import random
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLASSES = ("accepted-valid", "accepted-forged", "refused-cleanly", "defect")
CASE_TIMEOUT_S = 20


class Hang(BaseException):
    """Raised by the alarm when one case runs past its time limit (BaseException: never caught
    by a loader's ``except ValueError``)."""


@dataclass(frozen=True)
class Outcome:
    """One fuzz case."""

    artifact: str
    mutation: str
    resigned: bool
    cls: str
    detail: str


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` after ``seconds`` (SIGALRM; main thread only)."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer after {seconds} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def names_place(message: str, folder: Path) -> bool:
    """A refusal must be one line naming the folder or one of the artifact's files."""
    if not message or "\n" in message:
        return False
    return str(folder) in message or any(w in message for w in
                                         ("graph.json", "arrays.npz", "manifest.json", "config.json",
                                          "model.pt", "test_vectors.npz", "vectors.npz", "deploy.py"))


def classify(folder: Path, resigned: bool, load: Callable[[Path], Any], same: Callable[[Any], bool],
             post: Callable[[Any], None] | None = None) -> tuple[str, str]:
    """Run ``load(folder)`` (then ``post`` on a forged result) and return (class, detail)."""
    try:
        with time_limit(CASE_TIMEOUT_S):
            loaded = load(folder)
            if same(loaded):
                return "accepted-valid", ""
            if not resigned:
                return "defect", "a tampered artifact was accepted"
            if post is not None:
                try:
                    post(loaded)
                except ValueError as exc:         # the downstream checks refused the forgery
                    if "\n" in str(exc):
                        return "defect", f"downstream {type(exc).__name__} not one line: {str(exc)[:300]!r}"
                    return "accepted-forged", f"refused downstream: {str(exc)[:200]}"
            return "accepted-forged", ""
    except Hang as exc:
        return "defect", f"hang: {exc}"
    except ValueError as exc:                     # IRError, ManifestError, BundleError, CheckpointError
        msg = str(exc)
        if names_place(msg, folder):
            return "refused-cleanly", msg
        return "defect", f"{type(exc).__name__} not one line naming the file: {msg[:300]!r}"
    except Exception as exc:  # noqa: BLE001 - the fuzzer's job is to catch every unexpected exception
        return "defect", f"{type(exc).__name__}: {str(exc)[:300]}"


def run_cases(kind: str, base: Path, n: int, seed: int,
              mutate: Callable[[Path, random.Random], tuple[str, bool]],
              judge: Callable[[Path, bool], tuple[str, str]]) -> list[Outcome]:
    """``n`` cases: copy ``base``, ``mutate`` the copy (description, re-signed?), ``judge`` it."""
    rng = random.Random(seed)
    out = []
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{kind}-") as work:
        for i in range(n):
            case = Path(work) / f"{kind}{i}"
            shutil.copytree(base, case, symlinks=True)
            try:
                desc, resigned = mutate(case, rng)
            except (OSError, ValueError, KeyError, IndexError) as exc:   # a mutation that did not apply
                desc, resigned = f"mutation failed ({type(exc).__name__})", False
            cls, detail = judge(case, resigned)
            out.append(Outcome(kind, desc, resigned, cls, detail))
            shutil.rmtree(case, ignore_errors=True)
    return out


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts per artifact and class, and the defects (first 50)."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        table.setdefault(o.artifact, {c: 0 for c in CLASSES})[o.cls] += 1
    defects = [{"artifact": o.artifact, "mutation": o.mutation, "detail": o.detail}
               for o in outcomes if o.cls == "defect"][:50]
    kinds = Counter(o.mutation.split(" ")[0] for o in outcomes)
    return {"counts": table, "defects": defects, "mutation_kinds": dict(sorted(kinds.items()))}


def fuzz_all(graphs: int, checkpoints: int, bundles: int, seed: int = 0,
             work: Path | None = None) -> tuple[list[Outcome], dict[str, float]]:
    """Run every family; ``checkpoints`` needs torch (skipped with 0).  Returns outcomes and the
    seconds each family took."""
    from neurodeploy.harness import fuzz_targets as ft

    timings: dict[str, float] = {}
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-base-") as tmp:
        base = Path(work or tmp)
        families = [("graph", graphs, ft.graph_family), ("bundle", bundles, ft.bundle_family)]
        if checkpoints:
            families.append(("checkpoint", checkpoints, ft.checkpoint_family))
        for name, n, family in families:
            if not n:
                continue
            t0 = time.perf_counter()
            outcomes += family(base / name, n, seed)
            timings[name] = round(time.perf_counter() - t0, 2)
    return outcomes, timings


def describe(outcomes: list[Outcome]) -> str:
    """A short text table of outcome counts."""
    table = summarize(outcomes)["counts"]
    lines = [f"{'artifact':<12}" + "".join(f"{c:>17}" for c in CLASSES)]
    lines += [f"{a:<12}" + "".join(f"{row[c]:>17}" for c in CLASSES) for a, row in table.items()]
    return "\n".join(lines)
