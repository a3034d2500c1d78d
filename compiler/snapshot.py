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

A changed file changes the key. The key's digest of the files is kept with each file's
size, times, inode and device, and taken without reading them while none of those moved
(:func:`_files_digest`, git's rule for its index).
Deleting ``.teal/`` is always safe. Python functions are not stored: assets and checks
hold :class:`compiler.pyfiles.Deferred` placeholders and are imported when a build runs them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from teal.compiler.replaced_files import replace_with, replacing

FILE = "project.pickle"
INDEX = "inputs.pickle"  # the stat index of the files the key read
VERSION = "2"
# a file changed this recently may change again within the same time stamp: not indexed
RACY_NS = 2_000_000_000


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
                st = entry.stat()
                stats.append((entry.path[len(folder) :], st.st_size, st.st_mtime_ns))
    return sorted(stats)


# the files a load may read: what a project is made of, and what its snapshot key digests
INPUT_SUFFIXES = frozenset({".sql", ".py", ".yml", ".yaml"})


def near_input(name: str) -> bool:
    """Whether a file a load does not read looks like one meant to be read, so that the load
    warns about it: a suffix of ``INPUT_SUFFIXES`` in other letters (``Upper.SQL``), or
    one letter added to or dropped from ``.sql``, ``.yml`` or ``.yaml``, or one changed in
    ``.sql`` (``x.sqll``, ``x.sq``, ``x.ymll``); not an editor's backup (``x.sql~``).

    >>> [near_input(n) for n in ("a.SQL", "a.sqll", "a.sq", "a.sql", "a.md", "a.xml", "a.sql~")]
    [True, True, True, False, False, False, False]
    """
    suffix = os.path.splitext(name)[1]
    if not suffix or suffix in INPUT_SUFFIXES or name.endswith("~"):
        return False
    low = suffix.lower()
    if low in INPUT_SUFFIXES:
        return True
    return any(_one_letter_off(low, s, s == ".sql") for s in (".sql", ".yml", ".yaml"))


def _one_letter_off(text: str, word: str, changed: bool) -> bool:
    """``text`` is ``word`` with one letter added or dropped (or, when ``changed``, one
    letter changed)."""
    if len(text) == len(word):
        return changed and sum(a != b for a, b in zip(text, word)) == 1
    short, long = sorted((text, word), key=len)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def input_files(folder: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every file under ``folder`` a load may read (``INPUT_SUFFIXES``), or warns about
    (:func:`near_input`), with its stat, in one fixed order: folders and files sorted,
    walked top down. Hidden folders are walked (the check loader reads them);
    ``__pycache__`` and linked folders are not entered; a link to a regular file counts, a
    dangling one does not. os.walk on strings: pathlib's rglob and sorting cost more than
    reading 10,000 files."""
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if os.path.splitext(name)[1] not in INPUT_SUFFIXES and not near_input(name):
                continue
            path = os.path.join(top, name)
            try:
                st = os.stat(path)
            except OSError:  # a dangling link: not an input
                continue
            if stat.S_ISREG(st.st_mode):
                yield path, st


def key(cfg: Any, contents: dict[str, bytes] | None = None) -> str | None:
    """The snapshot key of a load of ``cfg`` (None: this load is not snapshotted).

    ``contents`` receives every file read, by path, for the load to use: reading 10,000
    model files twice cost 0.1 s."""
    if cfg.config_path.name.startswith("<"):
        return None
    import dataclasses

    # what only running uses (threads, the warehouse file and the target's name, defaults of
    # run options) is left
    # out: `teal build --threads 1` after `teal plan` loads the same project
    loaded_from = dataclasses.replace(
        cfg, threads=0, warehouse_path=Path(), changed_only=False, selectors={}, target=None
    )
    digest = hashlib.sha256()
    folders = [cfg.models_dir, *(cfg.root / p for p in cfg.check_paths)]
    files_digest, uses_env = _files_digest(cfg, folders, contents)
    for part in (VERSION, repr(loaded_from), compiler_fingerprint(), files_digest):
        digest.update(part.encode())
        digest.update(b"\0")
    if uses_env:
        digest.update(repr(sorted(os.environ.items())).encode())
    return digest.hexdigest()


FileStat = tuple[str, int, int, int, int, int]  # path, size, mtime, ctime (ns), inode, device


def _files_digest(
    cfg: Any, folders: list[Path], contents: dict[str, bytes] | None
) -> tuple[str, bool]:
    """A digest of the path and text of every file a load may read under ``folders``, and
    whether any of them calls ``env_var``.

    Reading every file is most of a warm command's key at 10,000 models. So the digest is
    kept in ``.teal/cache/inputs.pickle`` with each file's size, modification and change
    times (to the nanosecond), inode and device, as git's index keeps them: while every
    file's are the same, the kept digest is the answer and no file is read (``contents``
    then stays empty: the load reads what it needs). A file is looked at before it is read,
    so one changed in between differs next time. None is kept while any file was changed
    in the last two seconds (a file system may keep times coarser than the nanosecond,
    and a change in the same tick would keep them), the rule git calls "racy clean"."""
    started = time.time_ns()
    stats: list[FileStat] = []
    paths: list[str] = []
    for folder in folders:  # not data files kept beside the models: a load never opens them
        for path, st in input_files(str(folder)):
            stats.append((path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev))
            paths.append(path)
    index = _index_path(cfg)
    try:
        with index.open("rb") as fh:
            kept = pickle.load(fh)
        if kept["version"] == VERSION and kept["stats"] == stats:
            return str(kept["digest"]), bool(kept["uses_env"])
    except Exception:  # noqa: BLE001 - none kept, or unreadable: read the files
        pass
    digest = hashlib.sha256()
    uses_env = False
    read: list[FileStat] = []
    for path, looked in zip(paths, stats):
        try:
            data = _read(path)
        except OSError:  # not a readable file: not an input
            continue
        read.append(looked)
        digest.update(path.encode())
        digest.update(b"\0")
        digest.update(data)
        digest.update(b"\0")
        if contents is not None:
            contents[path] = data
        uses_env = uses_env or b"env_var" in data
    files_digest = digest.hexdigest()
    if all(max(s[2], s[3]) < started - RACY_NS for s in read) and len(read) == len(stats):
        kept = {"version": VERSION, "stats": read, "digest": files_digest, "uses_env": uses_env}
        try:
            replace_with(index, pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only project reads its files each time
    return files_digest, uses_env


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


def _index_path(cfg: Any) -> Path:
    return cfg.root / ".teal" / "cache" / INDEX


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
        helpers=data.get("helpers") or {},
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
        with replacing(path) as fh:
            fh.write(_header(snapshot_key))
            fh.write(blob)
    except Exception:  # noqa: BLE001 - something unpicklable or unwritable: no snapshot
        return
