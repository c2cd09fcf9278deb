"""The backend protocol every target implements."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.graph import Graph
from neurodeploy.targets import TargetSpec


class Backend(Protocol):
    """A target: ``check`` what it cannot express, ``emit`` an artifact folder, ``run`` samples."""

    name: ClassVar[str]

    def check(self, graph: Graph, spec: TargetSpec) -> list[str]:
        """Reasons (each naming a layer and a limit) why ``graph`` does not fit; [] = supported."""
        ...

    def emit(self, graph: Graph, out: Path, *, samples: np.ndarray | None = None,
             steps: int = 8) -> Path:
        """Write an artifact folder (atomically) with ``manifest.json``; return its path."""
        ...

    def run(self, graph: Graph, x: np.ndarray, steps: int, probes: Sequence[str] = ()) -> Trace:
        """Run integer inputs ``x`` (batch, *input shape) for ``steps`` useful steps; logical time."""
        ...
