"""The three fuzzed artifact families: a genuine artifact, how to mutate it, how to judge it."""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.harness import fuzz_mutate as fm
from neurodeploy.harness.fuzz import Outcome, classify, run_cases
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.serialize import GRAPH_FILE, HASH_FIELD, content_digest, graph_to_json, load_graph
from neurodeploy.manifest import MANIFEST_FILE, manifest_digest, write_manifest

POST_CHECK_LIMIT = 1 << 16        # forged graphs with larger shapes/values skip the post checks


# ----------------------------------------------------------------------------------- graphs
def make_graph_folder(folder: Path) -> Graph:
    """A converter-style graph folder: graph.json, arrays.npz, conversion_report.json, manifest."""
    from neurodeploy.atomic import write_json
    from neurodeploy.ir.random_graph import random_cnn
    from neurodeploy.ir.serialize import save_graph

    graph = random_cnn(0)
    save_graph(graph, folder)
    write_json(folder / "conversion_report.json", {"exact": True, "layers": []})
    write_manifest(folder, "graph", {"schedule": graph_to_json(graph)[0]["schedule"]})
    return graph


def graph_fingerprint(graph: Graph) -> str:
    """Content hash of the graph's canonical JSON (covers every field and array digest)."""
    return graph_to_json(graph)[0][HASH_FIELD]


def structural_edit(doc: dict[str, Any], rng: random.Random) -> str:
    """Graph-aware edits: rename, cycle, drop/duplicate/shuffle nodes, swap arrays, versions."""
    nodes = doc["nodes"]
    how = rng.choice(("rename", "cycle", "drop", "dup", "shuffle", "swap_array", "version", "type", "many"))
    i = rng.randrange(len(nodes))
    if how == "rename":
        nodes[i]["name"] = rng.choice(("renamed", nodes[(i + 1) % len(nodes)]["name"], "", "a/b"))
    elif how == "cycle":
        src_key = next((k for k in ("source", "sources") if k in nodes[i]), None)
        if src_key is None:
            return "cycle (input: no-op)"
        later = nodes[-1]["name"]
        nodes[i][src_key] = later if src_key == "source" else [later]
    elif how == "drop":
        del nodes[i]
    elif how == "dup":
        nodes.insert(i, dict(nodes[i]))
    elif how == "shuffle":
        rng.shuffle(nodes)
    elif how == "swap_array":
        refs = [(n, k) for n in nodes for k, v in n.items() if isinstance(v, dict) and "array" in v]
        (a, ka), (b, kb) = rng.sample(refs, 2)
        a[ka], b[kb] = b[kb], a[ka]
    elif how == "version":
        doc["format_version"] = rng.choice(("1.0", "2.9", "3.0", 2, None, "", "2"))
    elif how == "type":
        nodes[i]["type"] = rng.choice(("Conv", "Dense", "Input", "Readout", "Nope", "__class__"))
    else:
        doc["nodes"] = nodes * rng.choice((2, 50))
    return f"{how} node {i}"


def _resign_graph(folder: Path, doc: dict[str, Any], rng: random.Random) -> None:
    doc[HASH_FIELD] = content_digest(doc)
    fm.write_doc(folder / GRAPH_FILE, doc)
    if rng.random() < 0.5:
        (folder / MANIFEST_FILE).unlink()
    else:
        write_manifest(folder, "graph", {"schedule": doc.get("schedule")})


def mutate_graph(folder: Path, rng: random.Random) -> tuple[str, bool]:
    """One raw or re-signed mutation of a graph folder."""
    if rng.random() < 0.45:
        if rng.random() < 0.4:
            (folder / MANIFEST_FILE).unlink()
        return rng.choice(fm.RAW_MUTATORS)(folder, rng), False
    doc = fm.read_doc(folder / GRAPH_FILE)
    desc = structural_edit(doc, rng) if rng.random() < 0.3 else fm.edit_json(doc, rng)
    _resign_graph(folder, doc, rng)
    return f"resigned {desc}", True


def _small(graph: Graph) -> bool:
    """Every shape/int field of ``graph`` is small enough to run the post checks on."""
    from dataclasses import fields
    for n in graph.nodes:
        for f in fields(n):
            v = getattr(n, f.name)
            vals = v if isinstance(v, tuple) else (v,)
            if any(isinstance(x, int) and abs(x) > POST_CHECK_LIMIT for x in vals):
                return False
    return True


def post_graph(graph: Graph) -> None:
    """What ``verify`` and ``inspect`` do with a loaded graph (IRError/ValueError are refusals)."""
    from neurodeploy.ir.verify import verify_graph
    from neurodeploy.pipeline import inspect_graph
    from neurodeploy.targets import CPU

    if _small(graph):
        verify_graph(graph, CPU)
        inspect_graph(graph)


def graph_family(work: Path, n: int, seed: int) -> list[Outcome]:
    base = work / "base"
    original = graph_fingerprint(make_graph_folder(base))

    def judge(folder: Path, resigned: bool) -> tuple[str, str]:
        return classify(folder, resigned, load_graph, lambda g: graph_fingerprint(g) == original, post_graph)
    return run_cases("graph", base, n, seed, mutate_graph, judge)


# ---------------------------------------------------------------------------------- bundles
def make_bundles(work: Path) -> tuple[Path, Path]:
    """A Lava bundle and a CPU bundle of the same small graph."""
    from neurodeploy.backends.cpusim.backend import CpuSimBackend
    from neurodeploy.backends.lava.bundle import write_bundle
    from neurodeploy.ir.random_graph import random_cnn, random_inputs
    from neurodeploy.targets import LAVA_SIM_SUBIF

    graph = random_cnn(1)
    x = random_inputs(graph, 2, seed=0)
    lava = write_bundle(graph, work / "lava", LAVA_SIM_SUBIF, x, 3)
    cpu = CpuSimBackend().emit(graph, work / "cpu", samples=x, steps=3)
    return lava, cpu


def folder_fingerprint(folder: Path) -> dict[str, str]:
    """SHA-256 of every file (manifest included) by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def mutate_bundle(folder: Path, rng: random.Random) -> tuple[str, bool]:
    """Raw damage, an unsigned manifest edit, or a re-signed manifest/file edit."""
    r = rng.random()
    if r < 0.6:
        return rng.choice(fm.BUNDLE_RAW_MUTATORS)(folder, rng), False
    manifest = fm.read_doc(folder / MANIFEST_FILE)
    if r < 0.7:
        desc = fm.edit_json(manifest, rng)
        fm.write_doc(folder / MANIFEST_FILE, manifest)
        return f"manifest {desc}", False
    if r < 0.85:
        desc = fm.edit_json(manifest, rng)
        manifest.pop("manifest_sha256", None)
        try:
            manifest["manifest_sha256"] = manifest_digest(manifest)
        except ValueError:                          # NaN: cannot be re-signed canonically
            pass
        fm.write_doc(folder / MANIFEST_FILE, manifest)
        return f"resigned manifest {desc}", True
    what = rng.choice(("vectors", "graph"))
    if what == "vectors":
        desc = fm.npz_tamper(folder, rng)
    else:
        doc = fm.read_doc(folder / GRAPH_FILE)
        desc = fm.edit_json(doc, rng)
        doc[HASH_FIELD] = content_digest(doc)
        fm.write_doc(folder / GRAPH_FILE, doc)
    extra = {k: v for k, v in manifest.items() if k not in ("kind", "versions", "files")}
    write_manifest(folder, manifest["kind"], extra)
    return f"resigned {what} {desc}", True


def bundle_family(work: Path, n: int, seed: int) -> list[Outcome]:
    from neurodeploy.backends.lava.bundle import BundleError
    from neurodeploy.bundle_check import check_bundle

    lava, cpu = make_bundles(work)
    prints = {"lava": folder_fingerprint(lava), "cpu": folder_fingerprint(cpu)}

    def loader(run: bool) -> Any:
        def load(folder: Path) -> dict[str, str]:
            summary = check_bundle(folder, run=run)
            if summary.get("mismatches"):
                raise BundleError(f"{folder}: replay differs from the test vectors")
            return folder_fingerprint(folder)
        return load

    out: list[Outcome] = []
    for kind, base in (("lava", lava), ("cpu", cpu)):
        load = loader(run=kind == "cpu")             # a Lava run per case is too slow: files + contents only

        def judge(folder: Path, resigned: bool, kind: str = kind, load: Any = load) -> tuple[str, str]:
            return classify(folder, resigned, load, lambda fp: fp == prints[kind])
        half = n // 2 if kind == "lava" else n - n // 2
        out += [Outcome(f"{kind}-bundle", o.mutation, o.resigned, o.cls, o.detail)
                for o in run_cases("bundle", base, half, seed + (kind == "cpu"), mutate_bundle, judge)]
    return out


# ------------------------------------------------------------------------------ checkpoints
def make_checkpoint(folder: Path) -> None:
    """A tiny MLP checkpoint (needs torch)."""
    from neurodeploy.quant.checkpoint import save_checkpoint
    from neurodeploy.quant.models import build_model

    cfg = {"model": "mlp", "model_config": {"levels": 4, "hidden": [8]}, "levels": 4, "dataset": "digits",
           "input_bits": 4, "input_scale": 1 / 16, "seed": 0}
    save_checkpoint(folder, build_model("mlp", levels=4, hidden=[8]), cfg, {"test_acc": 0.5})


def _state_print(model: Any) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(np.ascontiguousarray(v.detach().cpu().numpy()).tobytes())
    return h.hexdigest()


def mutate_checkpoint(folder: Path, rng: random.Random) -> tuple[str, bool]:
    """Raw damage, unsigned config edits (incl. dropping config_sha256), or re-signed edits."""
    from neurodeploy.quant.checkpoint import config_digest

    r = rng.random()
    if r < 0.45:
        return rng.choice(fm.RAW_MUTATORS[:5] + (fm.replace_with_link,))(folder, rng), False
    path = folder / "config.json"
    config = fm.read_doc(path)
    if r < 0.6:
        desc = fm.edit_json(config, rng)
        fm.write_doc(path, config)
        return f"config {desc}", False
    if r < 0.7:
        config.pop("config_sha256", None)
        config["levels"] = 1000
        config["model_config"]["levels"] = 1000
        fm.write_doc(path, config)
        return "config drop config_sha256, levels 4 -> 1000", False
    desc = fm.edit_json(config if rng.random() < 0.5 else config["model_config"], rng)
    try:
        config["config_sha256"] = config_digest(config)
    except ValueError:                              # NaN cannot be hashed canonically
        pass
    fm.write_doc(path, config)
    return f"resigned config {desc}", True


def checkpoint_family(work: Path, n: int, seed: int) -> list[Outcome]:
    from neurodeploy.quant.checkpoint import load_checkpoint

    base = work / "base"
    make_checkpoint(base)
    model, config = load_checkpoint(base)
    original = (_state_print(model), json.dumps(config, sort_keys=True))

    def same(loaded: tuple[Any, dict[str, Any]]) -> bool:
        return (_state_print(loaded[0]), json.dumps(loaded[1], sort_keys=True)) == original

    def judge(folder: Path, resigned: bool) -> tuple[str, str]:
        return classify(folder, resigned, load_checkpoint, same)
    return run_cases("checkpoint", base, n, seed, mutate_checkpoint, judge)
