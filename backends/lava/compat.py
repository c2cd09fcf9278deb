"""Python 3.11 compatibility fix for lava-nc 0.10.0 (see docs/lava.md §1).

lava-nc 0.10.0's ``lava/magma/compiler/var_model.py`` gives three dataclasses eight
``ByteEncoder()`` *instance* defaults; Python >= 3.11 rejects such mutable defaults at class
creation ("mutable default ... use default_factory").  :func:`install` adds a meta-path
finder that answers for exactly that module, reads the installed source, checks it is the
known 0.10.0 text, rewrites the eight defaults to ``field(default_factory=ByteEncoder)`` in
memory, compiles it with the original filename (tracebacks still point at the real file) and
executes it.  Nothing in site-packages is ever written; no bytecode is cached.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

TARGET_MODULE = "lava.magma.compiler.var_model"
LAVA_VERSION = "0.10.0"
INSTALL_HINT = (
    "lava-nc is not installed (or not importable). Install it with\n"
    '    pip install --ignore-requires-python lava-nc==0.10.0 "numpy<2" "scipy<1.16" '
    '"scikit-learn<1.8"\n'
    "(or `make setup`); lava-nc 0.10.0 declares Python <3.11, neurodeploy carries the "
    "3.11 fix itself."
)
_OLD_DEFAULT = ": ByteEncoder = ByteEncoder()"
_NEW_DEFAULT = ": ByteEncoder = field(default_factory=ByteEncoder)"
_OLD_IMPORT = "from dataclasses import dataclass, InitVar\n"
_NEW_IMPORT = "from dataclasses import dataclass, InitVar, field\n"
_N_DEFAULTS = 8


def _lava_version() -> str:
    try:
        return metadata.version("lava-nc")
    except metadata.PackageNotFoundError:
        return "unknown"


def rewrite_source(text: str) -> str:
    """Return the fixed source of ``var_model.py``; ImportError if it is not the known text."""
    if _OLD_DEFAULT not in text and _NEW_DEFAULT in text:
        return text                                   # already fixed upstream or by hand
    count = text.count(_OLD_DEFAULT)
    if count != _N_DEFAULTS or text.count(_OLD_IMPORT) != 1:
        raise ImportError(
            f"neurodeploy's Python 3.11 fix for {TARGET_MODULE} expects the lava-nc "
            f"{LAVA_VERSION} source ({_N_DEFAULTS} '{_OLD_DEFAULT.strip()}' defaults and "
            f"'{_OLD_IMPORT.strip()}'); found {count} defaults in the installed lava-nc "
            f"{_lava_version()}. Install lava-nc=={LAVA_VERSION}.")
    return text.replace(_OLD_IMPORT, _NEW_IMPORT).replace(_OLD_DEFAULT, _NEW_DEFAULT)


class VarModelFix(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta-path finder + loader for exactly :data:`TARGET_MODULE`; ``None`` for all else."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET_MODULE:
            return None
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None or real.origin is None:
            return None
        return importlib.util.spec_from_file_location(fullname, real.origin, loader=self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None                                   # default module creation

    def exec_module(self, module: ModuleType) -> None:
        origin = module.__spec__.origin if module.__spec__ else None
        if origin is None:
            raise ImportError(f"{TARGET_MODULE}: no source file")
        text = rewrite_source(Path(origin).read_text(encoding="utf-8"))
        exec(compile(text, origin, "exec", dont_inherit=True), module.__dict__)  # noqa: S102


def _installed() -> bool:
    return any(isinstance(f, VarModelFix) for f in sys.meta_path)


def install() -> None:
    """Insert the finder (idempotent; no-op on Python < 3.11 or if the module is loaded)."""
    if sys.version_info < (3, 11) or TARGET_MODULE in sys.modules or _installed():
        return
    sys.meta_path.insert(0, VarModelFix())


def uninstall() -> None:
    """Remove the finder (for tests); an already imported module stays as it is."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, VarModelFix)]


LAVA_MP_MODULE = "lava.magma.runtime.message_infrastructure.multiprocessing"


def prepare_multiprocessing() -> None:
    """Let Lava's runtime fix the multiprocessing start method when it is first imported.

    That module calls ``multiprocessing.set_start_method('fork')`` at import time, which raises
    "context has already been set" if anything earlier fixed the context (tqdm's write lock, a
    torch DataLoader).  An already-fixed ``'fork'`` context is cleared so Lava can set the same
    method again; any other start method is refused with a clear message.
    """
    import multiprocessing as mp

    if LAVA_MP_MODULE in sys.modules:
        return
    current = mp.get_start_method(allow_none=True)
    if current is None:
        return
    if current != "fork":
        raise RuntimeError(f"Lava needs the 'fork' multiprocessing start method, but {current!r} is set")
    mp.set_start_method(None, force=True)


def lava_available() -> bool:
    """True if lava-nc is installed and its core imports (with the fix)."""
    if importlib.util.find_spec("lava") is None:
        return False
    install()
    prepare_multiprocessing()
    try:
        import lava.magma.core.run_configs  # noqa: F401
    except ImportError:                       # missing dependency or unknown lava-nc source
        return False
    return True


def require_lava() -> None:
    """Raise ImportError with :data:`INSTALL_HINT` unless Lava imports."""
    if not lava_available():
        raise ImportError(INSTALL_HINT)
