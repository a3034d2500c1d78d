"""Imports that follow edits in a long-lived process (a notebook, a server, the daemon).

Python keeps every module it ran in ``sys.modules``: ``from helpers import FACTOR`` gives
the copy that ran first, and a model file's module stays as its old text made it, although
helpers.py or the model file changed since. A notebook builds, edits, reloads and builds
again in one process, and must run the edited code, as a new process would; a build that
ran the old function would record the new code's version beside the old code's data.

So each module of the project that teal sees imported is stamped with the digest of the text
that ran (``__teal_digest__``): a model file as teal imports it, a module beside the models
(a helper) when importing a model file or a resources file first imports it. Before model
files are imported again, :func:`forget_edited` drops every stamped module of the project
from ``sys.modules`` if any of them no longer has its text (a module that ran an edited
helper's old values is as stale as the helper): the next import runs them again. Modules
teal did not see imported (the notebook's own ``import helpers`` before a build) carry no
stamp and are left alone. The stamps live on the modules: teal keeps nothing of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

DIGEST = "__teal_digest__"  # the digest of the text a project module ran


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def stamp(module: ModuleType, digest: str | None) -> None:
    """Record on ``module`` that it ran the text whose digest is ``digest``."""
    setattr(module, DIGEST, digest)


def stamped_unchanged(module: ModuleType | None, path: Path) -> bool:
    """Whether ``module`` ran the text ``path`` holds now (per its stamp)."""
    recorded = _own(module).get(DIGEST)
    return recorded is not None and recorded == file_digest(path)


@contextmanager
def stamping(root: Path | None) -> Iterator[None]:
    """Stamp the modules under ``root`` that are first imported while the block runs (the
    project's helpers a model file imports). None: stamp nothing."""
    if root is None:
        yield
        return
    before = set(sys.modules)
    try:
        yield
    finally:
        prefix = _prefix(root)
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            file = _file_under(module, prefix)
            if module is not None and file is not None and DIGEST not in _own(module):
                stamp(module, file_digest(Path(file)))


def forget_edited(root: Path) -> bool:
    """Drop every stamped module under ``root`` from ``sys.modules`` when any of them no
    longer holds the text it ran (edited or deleted), so that the next import runs the
    project's Python again. Whether it dropped them."""
    prefix = _prefix(root)
    stamped: list[tuple[str, str, object]] = []
    for name, module in list(sys.modules.items()):
        own = _own(module)
        file = _file_under(module, prefix) if DIGEST in own else None
        if file is not None:
            stamped.append((name, file, own[DIGEST]))
    edited = [file for _, file, digest in stamped if file_digest(Path(file)) != digest]
    if not edited:
        return False
    for name, _, _ in stamped:
        sys.modules.pop(name, None)
    for file in edited:  # its .pyc may pass for current: an edit that kept size and second
        with contextlib.suppress(OSError, ValueError, NotImplementedError):
            os.unlink(importlib.util.cache_from_source(file))
    return True


def forget_others(root: Path) -> list[str]:
    """Drop the stamped modules that are not under ``root`` from ``sys.modules``: a process
    that opened two projects (a notebook), each with its own ``helpers.py``, must import
    this project's ``helpers`` when it imports this project's files. The names dropped."""
    prefix = _prefix(root)
    others = [
        name
        for name, module in list(sys.modules.items())
        if DIGEST in _own(module) and _file_under(module, prefix) is None
    ]
    for name in others:
        sys.modules.pop(name, None)
    return others


def _own(module: ModuleType | None) -> dict[str, object]:
    """The module's own attributes, read without its ``__getattr__`` (a lazy module's)."""
    found = getattr(module, "__dict__", None) if module is not None else None
    return found if isinstance(found, dict) else {}


def _prefix(root: Path) -> str:
    return str(root.resolve()) + os.sep


def _file_under(module: ModuleType | None, prefix: str) -> str | None:
    """The module's file when it lies under the folder ``prefix`` (not in an environment
    inside the project folder), else None."""
    file = _own(module).get("__file__")
    if not isinstance(file, str) or "site-packages" in file:
        return None
    resolved = os.path.realpath(file)
    return resolved if resolved.startswith(prefix) else None
