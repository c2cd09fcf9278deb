"""Bad DAG input through the real CLI stops with one line naming the node, exit status 1, and writes
nothing: an unsupported fx node (MaxPool in the user's float model), a cyclic graph and a dangling
node in a (re-signed) graph folder."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.ir import save_graph
from neurodeploy.ir.random_graph import random_dag
from neurodeploy.ir.serialize import GRAPH_FILE, HASH_FIELD, content_digest

pytest.importorskip("torch")

MAXPOOL_MODEL = '''
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))

def make():
    return Net()
'''


def one_line_error(res) -> str:
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    return lines[0]


def test_unsupported_fx_node_names_the_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "user_maxpool_net.py").write_text(MAXPOOL_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "graph"
    res = CliRunner().invoke(main, ["convert", "--from-float", "user_maxpool_net:make", "--out", str(out)])
    line = one_line_error(res)
    assert "pool" in line and "MaxPool2d" in line and "--maxpool-to-avgpool" in line
    assert not out.exists()
    sys.modules.pop("user_maxpool_net", None)


def _resigned(folder: Path, edit) -> Path:
    doc = json.loads((folder / GRAPH_FILE).read_text())
    edit(doc["nodes"])
    doc[HASH_FIELD] = content_digest(doc)
    (folder / GRAPH_FILE).write_text(json.dumps(doc))
    return folder


def test_cyclic_graph_names_the_node(tmp_path: Path) -> None:
    folder = save_graph(random_dag(3), tmp_path / "g")

    def make_cycle(nodes: list) -> None:
        first_conv = next(n for n in nodes if n["type"] == "Conv")
        last_pop = [n for n in nodes if n["type"] == "IFPopulation"][-1]
        first_conv["source"] = last_pop["name"]
    _resigned(folder, make_cycle)
    line = one_line_error(CliRunner().invoke(main, ["inspect", str(folder)]))
    assert "part of a cycle" in line and "graph.json" in line


def test_dangling_node_names_the_node(tmp_path: Path) -> None:
    folder = save_graph(random_dag(3), tmp_path / "g")
    _resigned(folder, lambda nodes: nodes.append({"type": "Flatten", "name": "loose", "source": "input",
                                                  "meta": {}}))
    res = CliRunner().invoke(main, ["eval", str(folder), "--steps", "2"])
    line = one_line_error(res)
    assert "loose: dangling node" in line
