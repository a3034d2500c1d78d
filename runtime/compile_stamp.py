"""`teal compile` when nothing it reads has changed: the last compile's answer, target/ as is.

A compile of an unchanged project checks again what it checked last time (each model's
references to columns, contracts, join and UNION types) and compares every compiled file
with the one it would write: about a third of a warm compile of 1,000 models each. A
compile that succeeds leaves a stamp, ``.teal/cache/compile-stamp.json``: a key of what
those depend on and the size and modification time of every file it left in ``target/``.
The next compile whose key is the same and whose files are as it left them answers with
the same counts and writes nothing.

The key is made of the project load's key (compiler/snapshot.py: the configuration, every
SQL, YAML and Python file, the environment when a file reads it, the compiler's code), the
columns and types the run store recorded for Python assets that declare none, the identity
of each file source's first file, the selection, and the sizes and modification times of
the runtime's and the warehouse layer's modules (validation lives there). A project loaded
without a key (a dbt project, a project made in code) is never stamped. Deleting
``.teal/`` or ``target/`` is always safe: the next compile does the whole work.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.cache import content_key
from teal.compiler.replaced_files import replace_with
from teal.compiler.snapshot import compiler_fingerprint, file_stats

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.warehouse.duckdb.typing import Typed

VERSION = "1"
FILE = "compile-stamp.json"

# (path relative to target/, size, modification time in nanoseconds)
FileStat = tuple[str, int, int]


class Compiled(NamedTuple):
    """What a compile reports."""

    folder: Path  # target/
    written: int  # models compiled
    resolution: str  # how much of the selection's lineage is resolved (a sentence)
    reused: bool = False  # the last compile's answer: nothing was checked or written


class CompileStamp(NamedTuple):
    """The stamp of one compile's inputs, and where it is kept."""

    path: Path
    key: str

    @classmethod
    def of(
        cls, project: Project, names: Sequence[str] | None, recorded: Mapping[str, Typed]
    ) -> CompileStamp | None:
        """The stamp of compiling ``names`` (None: the whole project) of ``project`` with
        the Python assets' ``recorded`` types; None when the project has no load key."""
        if project.load_key is None:
            return None
        from teal.compiler.source_schemas import file_identity
        from teal.compiler.sources import FILE_KINDS

        files = sorted(
            (table.key, repr(file_identity(table.location)))
            for source in project.sources.values()
            for table in source.tables.values()
            if table.kind in FILE_KINDS and "://" not in table.location
        )
        key = content_key(
            "compile-stamp",
            VERSION,
            project.load_key,
            repr(sorted(recorded.items())),
            repr(files),
            repr(None if names is None else list(names)),
            _code_fingerprint(),
        )
        return cls(project.root / ".teal" / "cache" / FILE, key)

    def read(self) -> Compiled | None:
        """The last compile's answer, if it had this key and left target/ as it is now."""
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("key") != self.key:
            return None
        try:  # a stamp edited by hand: not an answer
            folder = Path(str(stored["folder"]))
            files = [tuple(f) for f in stored["files"]]
            written, resolution = int(stored["written"]), str(stored["resolution"])
        except (KeyError, TypeError, ValueError):
            return None
        if not files or target_files(folder) != files:
            return None
        return Compiled(folder, written, resolution, reused=True)

    def write(self, compiled: Compiled) -> None:
        """Keep ``compiled`` as the answer for this key, with target/'s files as they are."""
        stored = {
            "key": self.key,
            "folder": str(compiled.folder),
            "written": compiled.written,
            "resolution": compiled.resolution,
            "files": target_files(compiled.folder),
        }
        replace_with(self.path, json.dumps(stored))


def target_files(folder: Path) -> list[FileStat]:
    """What a compile writes in ``folder`` (target/): ``manifest.json`` and every file
    under ``compiled/``, each with its size and modification time, sorted: a file written,
    edited or removed since changes the list (a build's ``run_results.json`` does not)."""
    base = str(folder)
    try:
        stat = os.stat(os.path.join(base, "manifest.json"))
    except OSError:
        return []
    compiled = file_stats(os.path.join(base, "compiled"))
    found = [("/compiled" + path, size, mtime) for path, size, mtime in compiled]
    return sorted([*found, ("/manifest.json", stat.st_size, stat.st_mtime_ns)])


def _code_fingerprint() -> str:
    """The runtime's and the warehouse layer's modules (validation and typing live there;
    the load key covers the compiler's)."""
    here = Path(__file__).resolve().parent
    return compiler_fingerprint(here) + compiler_fingerprint(here.parent / "warehouse")
