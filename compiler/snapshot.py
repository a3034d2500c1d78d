"""The whole loaded project, kept in ``.teal/cache/project.pickle`` for the next command.

A warm load with the compile cache still builds every model object, reads every check and
resolves every reference: 0.2 s for 1,000 models, most of a warm ``teal plan``. When no
input of the load changed, the previous result is the answer, so it is stored once the load
succeeds and taken back when the key matches. The key is made of everything a load reads:

- the project configuration as resolved (teal.toml, target, ``--vars``, paths), except
  what only running reads (threads, the warehouse file, selectors, run defaults);
- the path and text of every SQL, Python and YAML file under the models folder and the
  check folders;
- the environment, when any of those files calls ``env_var``;
- the project-local modules Python model files imported, by content (checked on a hit);
- teal's own compiler code (the sizes and modification times of its modules).

Like the compile cache, it is never trusted by time: a changed file changes the key.
Deleting ``.teal/`` is always safe. Python functions are not stored: assets and checks
hold :class:`compiler.pyfiles.Deferred` placeholders and are imported when a build runs them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

FILE = "project.pickle"
VERSION = "2"
READ_SUFFIXES = {".sql", ".py", ".yml", ".yaml"}


def compiler_fingerprint(folder: str | os.PathLike[str] | None = None) -> str:
    """Size and modification time of every module of the compiler, subpackages included
    (what they define is stored in the snapshot: models, partition definitions, ...); of
    the modules under ``folder`` instead, when given."""
    here = os.fspath(folder) if folder is not None else os.path.dirname(os.path.realpath(__file__))
    return repr(file_stats(here, ".py"))


def file_stats(folder: str, suffix: str = "") -> list[tuple[str, int, int]]:
    """(path relative to ``folder``, size, modification time in nanoseconds) of every file
    under it whose name ends with ``suffix``, ``__pycache__`` left out, sorted."""
    stats = []
    folders = [folder]
    while folders:  # os.scandir: a third of what pathlib's glob costs here
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:  # gone or unreadable: nothing in it
            continue
        for entry in entries:
            if entry.is_dir() and entry.name != "__pycache__":
                folders.append(entry.path)
            elif entry.name.endswith(suffix) and not entry.is_dir():
                stat = entry.stat()
                stats.append((entry.path[len(folder) :], stat.st_size, stat.st_mtime_ns))
    return sorted(stats)


def key(cfg: Any, contents: dict[str, bytes] | None = None) -> str | None:
    """The snapshot key of a load of ``cfg`` (None: this load is not snapshotted).

    ``contents`` receives every file read, by path, for the load to use: reading 10,000
    model files twice cost 0.1 s."""
    if cfg.config_path.name.startswith("<"):
        return None
    import dataclasses

    # what only running uses (threads, the warehouse file, defaults of run options) is left
    # out: `teal build --threads 1` after `teal plan` loads the same project
    loaded_from = dataclasses.replace(
        cfg, threads=0, warehouse_path=Path(), changed_only=False, selectors={}
    )
    digest = hashlib.sha256()
    for part in (VERSION, repr(loaded_from), compiler_fingerprint()):
        digest.update(part.encode())
        digest.update(b"\0")
    uses_env = False
    folders = [cfg.models_dir, *(cfg.root / p for p in cfg.check_paths)]
    for folder in folders:
        # every file a load may read (hidden folders included: the check loader reads them),
        # but not data files kept beside the models, which a load never opens. os.walk on
        # strings: pathlib's rglob and sorting cost more than reading 10,000 files.
        for top, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if os.path.splitext(name)[1] not in READ_SUFFIXES:
                    continue
                path = os.path.join(top, name)
                try:
                    data = _read(path)
                except OSError:  # not a readable file (a dangling link): not an input
                    continue
                digest.update(path.encode())
                digest.update(b"\0")
                digest.update(data)
                digest.update(b"\0")
                if contents is not None:
                    contents[path] = data
                uses_env = uses_env or b"env_var" in data
    if uses_env:
        digest.update(repr(sorted(os.environ.items())).encode())
    return digest.hexdigest()


def _read(path: str) -> bytes:
    """The bytes of the file at ``path``, read with the system calls themselves: half of
    what ``open(path, "rb").read()`` costs (no buffered reader per file). Read to the end
    of the file: a read may return less than asked for before it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # bytes as they are
    try:
        data = os.read(fd, _CHUNK)
        more = os.read(fd, _CHUNK) if data else b""
        if not more:  # a model file: one read, and one to see the end
            return data
        chunks = [data, more]
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


_CHUNK = 1 << 16


def _path(cfg: Any) -> Path:
    return cfg.root / ".teal" / "cache" / FILE


def _header(snapshot_key: str) -> bytes:
    """What the stored file starts with: its form and the key it was stored under."""
    return f"teal-project-snapshot {VERSION} {snapshot_key}\n".encode()


def load(
    cfg: Any, snapshot_key: str | None, before_reading: Callable[[], None] | None = None
) -> Any:
    """The project stored under ``snapshot_key``, or None.

    The file starts with the key it was stored under, so a stale one is not unpickled.
    ``before_reading`` is called once the key matches, before the project is read: from
    there on the load forks nothing (unless the project's helper modules changed), so a
    caller may start threads beside it (a build starts opening the warehouse)."""
    if snapshot_key is None:
        return None
    path = _path(cfg)
    header = _header(snapshot_key)
    try:
        fh = path.open("rb")
    except OSError:  # none stored yet
        return None
    with fh:
        try:
            if fh.read(len(header)) != header:
                return None  # stored by another load or another teal
        except OSError:
            return None
        if before_reading is not None:
            before_reading()
        try:
            data = pickle.load(fh)
        except Exception:  # noqa: BLE001 - unreadable (a class changed shape): load normally
            return None
    if not isinstance(data, dict):
        return None
    from teal.compiler.pyfiles import helpers_unchanged

    if not helpers_unchanged(data.get("helpers") or {}):
        return None
    import dataclasses

    return dataclasses.replace(
        data["project"],
        config=cfg,
        stats={
            "parsed": 0,
            "cache_hits": len(data["project"].models),
            "cache_misses": 0,
            "snapshot": 1,
        },
    )


def save(cfg: Any, snapshot_key: str | None, project: Any, helpers: dict[str, str | None]) -> None:
    """Store ``project`` (its parse trees left out) for the next load; atomically.

    ``snapshot_key`` is the key taken before the load: if a file changed while the load
    read it (a checkout, a generator), the key now differs and nothing is stored."""
    if snapshot_key is None or key(cfg) != snapshot_key:
        return
    import dataclasses

    stored = dataclasses.replace(
        project,
        models={
            name: dataclasses.replace(model, ast=None) if model.ast is not None else model
            for name, model in project.models.items()
        },
    )
    path = _path(cfg)
    try:
        blob = pickle.dumps(
            {"helpers": helpers, "project": stored}, protocol=pickle.HIGHEST_PROTOCOL
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{FILE}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            fh.write(_header(snapshot_key))
            fh.write(blob)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - something unpicklable or unwritable: no snapshot
        return
