"""Graph artifacts round-trip exactly (every node type, every schedule, every field and array)
and the loader refuses, with the file / node / field named: an unknown major format version, a
tampered array (sha256 mismatch), an edited scalar field (content hash), an unreferenced npz
member, an object (pickled) array in the npz, and missing files; format-1 (chain) folders are
migrated on read to the same graph."""
from __future__ import annotations

import io
import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from neurodeploy.ir import (Graph, IFPopulation, IntT, IRError, Schedule, SumPool, load_graph,
                            save_graph)
from neurodeploy.ir.random_graph import random_cnn
from neurodeploy.ir.serialize import ARRAYS_FILE, GRAPH_FILE

SCHEDULES = [Schedule(), Schedule("srp", tau=3), Schedule("two_phase", window=5)]


def rich_graph(schedule: Schedule) -> Graph:
    g = random_cnn(1, schedule=schedule, reset="zero", compare=">")
    nodes = [IFPopulation(n.name, n.source, n.shape, n.threshold, n.v0, n.bias_mant, bias_exp=2,
                          reset=n.reset, compare=n.compare, state_t=IntT(20), meta={"k": "v"})
             if isinstance(n, IFPopulation) else n for n in g.nodes]
    return g.with_nodes(nodes)


def assert_graphs_equal(a: Graph, b: Graph) -> None:
    assert (a.schedule, a.meta, a.format_version) == (b.schedule, b.meta, b.format_version)
    assert [type(n) for n in a.nodes] == [type(n) for n in b.nodes]
    for na, nb in zip(a.nodes, b.nodes):
        for f in fields(na):
            va, vb = getattr(na, f.name), getattr(nb, f.name)
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype and np.array_equal(va, vb), f"{na.name}.{f.name}"
            else:
                assert va == vb, f"{na.name}.{f.name}"


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
def test_round_trip(tmp_path: Path, schedule: Schedule) -> None:
    g = rich_graph(schedule)
    kinds = {type(n).__name__ for n in g.nodes}
    assert kinds == {"Input", "Conv", "IFPopulation", "SumPool", "Flatten", "Dense", "Readout"}
    assert any(isinstance(n, SumPool) for n in g.nodes)
    assert_graphs_equal(g, load_graph(save_graph(g, tmp_path / "g")))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save_graph(random_cnn(0), tmp_path / "g")


def test_refuses_unknown_major_version(saved: Path) -> None:
    doc = json.loads((saved / GRAPH_FILE).read_text())
    doc["format_version"] = "3.0"
    (saved / GRAPH_FILE).write_text(json.dumps(doc))
    with pytest.raises(IRError, match=r"graph\.json.*format_version '3\.0'"):
        load_graph(saved)


def _rewrite_npz(folder: Path, change) -> None:
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (folder / ARRAYS_FILE).write_bytes(buf.getvalue())


def test_refuses_tampered_array(saved: Path) -> None:
    def bump(arrays):
        arrays["conv2/weight"] = arrays["conv2/weight"].copy()
        arrays["conv2/weight"].flat[0] ^= 1
    _rewrite_npz(saved, bump)
    with pytest.raises(IRError, match=r"graph\.json: node conv2\.weight: .*sha256"):
        load_graph(saved)


def test_refuses_pickled_object_array(saved: Path) -> None:
    def smuggle(arrays):
        arrays["if1/v0"] = np.array([{"evil": 1}, None], dtype=object)   # np.save pickles this
    _rewrite_npz(saved, smuggle)
    with pytest.raises(IRError, match=r"arrays\.npz: refused"):
        load_graph(saved)


@pytest.mark.parametrize("name", [GRAPH_FILE, ARRAYS_FILE])
def test_refuses_missing_files(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(IRError, match=name.replace(".", r"\.") + ": missing"):
        load_graph(saved)


def test_refuses_missing_array(saved: Path) -> None:
    _rewrite_npz(saved, lambda arrays: arrays.pop("fc/weight"))
    with pytest.raises(IRError, match=r"node fc\.weight: array 'fc/weight' missing"):
        load_graph(saved)


def test_refuses_edited_scalar_field(saved: Path) -> None:
    """A one-field edit (here a weight exponent) changes the function; the content hash catches it."""
    doc = json.loads((saved / GRAPH_FILE).read_text())
    conv = next(n for n in doc["nodes"] if n["name"] == "conv2")
    conv["weight_exp"] += 1
    (saved / GRAPH_FILE).write_text(json.dumps(doc))
    with pytest.raises(IRError, match=r"graph\.json: content_sha256 does not match"):
        load_graph(saved)


def test_refuses_unreferenced_npz_member(saved: Path) -> None:
    _rewrite_npz(saved, lambda arrays: arrays.update(extra=np.zeros(3, np.int64)))
    with pytest.raises(IRError, match=r"arrays\.npz: member 'extra' is not referenced"):
        load_graph(saved)


def test_format_1_folder_is_migrated_on_read(saved: Path) -> None:
    """A format-1 document (one ``source`` per population, scalar geometry, no content hash)
    loads as the same graph, marked as migrated."""
    original = load_graph(saved)
    doc = json.loads((saved / GRAPH_FILE).read_text())
    doc.pop("content_sha256")
    doc["format_version"] = "1.0"
    for n in doc["nodes"]:
        if "sources" in n:
            n["source"] = n.pop("sources")[0]
        for key in ("stride", "padding", "kernel"):
            if isinstance(n.get(key), list):
                n[key] = n[key][0]
        n.pop("dilation", None)
        n.pop("groups", None)
    (saved / GRAPH_FILE).write_text(json.dumps(doc))
    migrated = load_graph(saved)
    assert migrated.meta.pop("migrated_from") == "1.0"
    assert_graphs_equal(original, migrated)
