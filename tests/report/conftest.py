"""Fixtures of the report tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from report_nets import digits_cnn

from neurodeploy.ir import save_graph


@pytest.fixture(scope="session")
def digits_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The :func:`report_nets.digits_cnn` graph saved as a graph folder."""
    return save_graph(digits_cnn(), tmp_path_factory.mktemp("report") / "graph")
