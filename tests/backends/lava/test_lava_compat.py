"""Proves the Python 3.11 fix for lava-nc 0.10.0 (backends/lava/compat.py) is scoped and safe:
without the hook var_model fails with the dataclass ValueError; with it the import works and
the ByteEncoder defaults are per-instance; other modules are not touched; an unknown source
is refused with a clear ImportError; the installed lava files are never modified."""
from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from neurodeploy.backends.lava import compat

pytestmark = pytest.mark.lava
LAVA_DIR = Path(importlib.util.find_spec("lava").submodule_search_locations[0])


def _hash_tree(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the bug only exists on Python >= 3.11")
def test_without_hook_import_fails_with_dataclass_error() -> None:
    r = _run("import lava.magma.compiler.var_model")
    assert r.returncode != 0
    assert "ValueError" in r.stderr and "default_factory" in r.stderr


def test_with_hook_defaults_are_per_instance() -> None:
    before = _hash_tree(LAVA_DIR)
    r = _run("from neurodeploy.backends.lava import compat; compat.install(); compat.install()\n"
             "import sys\n"
             "from lava.magma.compiler.var_model import CoreEncoder, AxonEncoder\n"
             "assert CoreEncoder().x is not CoreEncoder().x\n"
             "assert AxonEncoder().hi is not AxonEncoder().hi\n"
             "assert sum(type(f).__name__ == 'VarModelFix' for f in sys.meta_path) == 1\n"
             "import lava.magma.compiler.var_model as m; print(m.__file__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("var_model.py") and str(LAVA_DIR) in r.stdout
    assert _hash_tree(LAVA_DIR) == before
    assert not list((LAVA_DIR / "magma" / "compiler").glob("var_model*.neurodeploy*"))


def test_other_module_names_are_ignored() -> None:
    finder = compat.VarModelFix()
    for name in ("lava", "lava.magma.compiler", "lava.magma.compiler.var_model_x", "numpy"):
        assert finder.find_spec(name, None) is None
    spec = finder.find_spec(compat.TARGET_MODULE, [str(LAVA_DIR / "magma" / "compiler")])
    assert spec is not None and spec.loader is finder


def test_mutated_source_raises_clear_import_error() -> None:
    text = (LAVA_DIR / "magma" / "compiler" / "var_model.py").read_text()
    fixed = compat.rewrite_source(text)
    assert fixed.count("field(default_factory=ByteEncoder)") == 8
    assert compat.rewrite_source(fixed) == fixed                      # already fixed: no-op
    mutated = text.replace("    lo: ByteEncoder = ByteEncoder()", "    lo: int = 0")
    with pytest.raises(ImportError, match="lava-nc"):
        compat.rewrite_source(mutated)


def test_lava_available_and_lazy_package_import() -> None:
    assert compat.lava_available()
    r = _run("import sys, neurodeploy.backends.lava, neurodeploy.backends.lava.backend\n"
             "import neurodeploy.harness.verify\n"
             "print(any(m == 'lava' or m.startswith('lava.') for m in sys.modules))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    assert "pip install --ignore-requires-python lava-nc==0.10.0" in compat.INSTALL_HINT
