"""Versions of file sources: the data a model reads from files teal does not build.

A declared source table of kind parquet, csv or json at a local path or glob has a version
made from the files it names now: each file's name, size and modification time (as git's
index and the file sensor judge a file changed, without reading it). A model that reads
such a table, itself or through views, includes that version in its data version
(compiler/versions.py): a file edited, added or removed makes the partitions built from it
stale, and ``--changed-only`` rebuilds what reads it. A file written again with the same
bytes counts as changed.

Not versioned, as before (docs/partitions.md says how to rebuild after such a change):
remote locations (``s3://...``: listing them is a request per plan), partitioned source
tables (which file holds which partition is not known: a growing folder would make every
partition stale; the file sensor's ``partition_from`` rebuilds the partition a file names),
and tables of a DuckDB file or of the warehouse.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from teal.compiler.sources import FILE_KINDS

if TYPE_CHECKING:
    from teal.compiler.project import Project


class SourceVersions:
    """The versions of one project's file sources as the files stand now, each listed once
    (a plan reads them for every model that reads them)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        # source table key -> its files as (name, size, modified ns), or None: not versioned
        self._files: dict[str, tuple[tuple[str, int, int], ...] | None] = {}
        self._versions: dict[str, str] = {}
        self._parts: dict[str, tuple[str, ...]] = {}

    def parts(self, model: str) -> tuple[str, ...]:
        """``source.table=version`` for each versioned file source ``model`` reads itself,
        sorted; empty for most models, leaving their data versions as they were."""
        found = self._parts.get(model)
        if found is None:
            found = self._parts[model] = tuple(
                f"{key}={self.version(key)}"
                for key in self.project.models[model].source_tables
                if self._listed(key) is not None
            )
        return found

    def version(self, key: str) -> str:
        """A digest of the files source table ``key`` names now."""
        found = self._versions.get(key)
        if found is None:
            files = self._listed(key) or ()
            text = "\x1e".join(f"{name}\x1d{size}\x1d{ns}" for name, size, ns in files)
            found = self._versions[key] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return found

    def changed_after(self, model: str, when: object) -> str | None:
        """A versioned file source of ``model`` with a file modified after ``when`` (naive
        UTC, as the run store's times), or None."""
        if not isinstance(when, datetime):
            return None
        if when.tzinfo is not None:  # an aware time: compared as naive UTC
            when = when.astimezone(UTC).replace(tzinfo=None)
        for key in self.project.models[model].source_tables:
            for _, _, ns in self._listed(key) or ():
                if datetime.fromtimestamp(ns / 1e9, UTC).replace(tzinfo=None) > when:
                    return key
        return None

    def files(self, key: str) -> tuple[tuple[str, int, int], ...] | None:
        """The files source table ``key`` names now, each as (name, size, modified ns);
        None when it is not versioned (not a local, unpartitioned file source)."""
        return self._listed(key)

    def _listed(self, key: str) -> tuple[tuple[str, int, int], ...] | None:
        if key in self._files:
            return self._files[key]
        table = self.project.source_table(key)
        listed = None
        if table.kind in FILE_KINDS and table.partitions is None and "://" not in table.location:
            listed = _stat_files(table.location, str(self.project.root))
        self._files[key] = listed
        return listed


def _stat_files(location: str, root: str) -> tuple[tuple[str, int, int], ...]:
    """Each file ``location`` (a path or glob) names: its name relative to ``root`` when it
    is under it (a project moved keeps its versions), its size and modification time."""
    found = []
    for path in sorted(glob.glob(location, recursive=True)):
        try:
            info = os.stat(path)
        except OSError:  # gone since it was listed
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        name = os.path.relpath(path, root) if path.startswith(root + os.sep) else path
        found.append((name, info.st_size, info.st_mtime_ns))
    return tuple(found)
