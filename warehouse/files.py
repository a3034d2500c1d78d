"""Files outside the warehouse, moved into place atomically with the state row that records
them: the journal, the swap and the recovery that external materializations share.

An engine writes a publication's files to a temporary sibling of their location (a hidden
work folder next to it, on the same file system), audits them there, and then, inside the
transaction that records them, swaps each staged file or folder into place. Every step is
written ahead in a journal kept beside the warehouse file, so that whatever a kill -9
leaves is finished or undone the next time a writer opens the warehouse
(:func:`recover`):

1. ``writing``: the journal names the staging folder before anything is written there. A
   kill now leaves only temporaries: they are removed.
2. ``publishing``: the journal records, for each unit (the location itself, or one
   partition's folder), the inode of what is in place now and of what was staged. Then
   each unit is swapped (on Linux in one ``renameat2(RENAME_EXCHANGE)``, so a reader never
   finds the folder missing; elsewhere by two renames) and the transaction commits.
3. Done: the old files and the journal are removed.

Recovery asks the warehouse whether the publication's state row committed: if it did, the
staged inodes belong in place, else the old ones; each unit is put back by inode (a rename
keeps it), whichever of its three paths it is at, and the rest is removed. So after a kill
at any point, a reader finds the old files or the new ones, in agreement with the state
rows, and never half of a folder.

A URL location has no rename: its files are written in place (``remote`` journals), and
recovery after a kill mid-write tells the warehouse to rebuild what was being written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORK_SUFFIX = ".teal-tmp"  # the hidden work folder beside a location: .<name>.teal-tmp
JOURNAL_SUFFIX = ".journal"  # beside the warehouse file: <warehouse>.journal/


def new_token() -> str:
    """A publication's identity (in its journal, its state row and its temporaries)."""
    return os.urandom(16).hex()


def work_dir(location: str | Path) -> Path:
    """The hidden work folder of a location: a sibling, so a rename is all a move costs.

    >>> str(work_dir("/lake/marts/orders"))
    '/lake/marts/.orders.teal-tmp'
    """
    path = Path(location)
    return path.parent / f".{path.name}{WORK_SUFFIX}"


def journal_dir(warehouse: str) -> Path | None:
    """Where a warehouse's publications are journaled (None for an in-memory one, which
    nothing survives)."""
    if warehouse == ":memory:" or not warehouse:
        return None
    return Path(warehouse).with_name(Path(warehouse).name + JOURNAL_SUFFIX)


def remove(path: Path) -> None:
    """Remove a file or a folder, if it is there."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def has_files(path: Path, suffix: str) -> bool:
    """Whether ``path`` is a data file or a folder holding one (at any depth)."""
    if path.is_file():
        return True
    for _, _, names in os.walk(path):
        if any(n.endswith(suffix) for n in names):
            return True
    return False


def _inode(path: Path) -> int | None:
    try:
        return path.lstat().st_ino
    except FileNotFoundError:
        return None


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - no directory handles there
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_libc: Any = None


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system or the file system cannot, and nothing was done."""
    global _libc
    if not sys.platform.startswith("linux") or os.environ.get("TEAL_NO_EXCHANGE"):
        return False
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            _libc.renameat2  # noqa: B018 - glibc 2.28 and later
        except (OSError, AttributeError):
            _libc = False
    if _libc is False:
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = _libc.renameat2(
        at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange
    )
    return done == 0


@dataclass
class Unit:
    """One thing a publication replaces: the whole location, or one partition's folder.
    ``stage`` is what was written; ``backup`` is where the old one goes."""

    final: Path
    stage: Path
    backup: Path
    old: int | None = None  # inode of what was in place before (None: nothing was)
    new: int | None = None  # inode of what was staged (None: the unit becomes empty)

    def to_json(self) -> dict[str, Any]:
        return {
            "final": str(self.final),
            "stage": str(self.stage),
            "backup": str(self.backup),
            "old": self.old,
            "new": self.new,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Unit:
        return cls(
            Path(data["final"]),
            Path(data["stage"]),
            Path(data["backup"]),
            data.get("old"),
            data.get("new"),
        )

    def swap(self) -> None:
        """Put what was staged in place and the old one at ``backup``."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.backup.parent.mkdir(parents=True, exist_ok=True)
        if self.new is not None and self.old is not None and exchange(self.stage, self.final):
            os.replace(self.stage, self.backup)  # the stage path holds the old one now
        else:
            if self.old is not None:
                os.replace(self.final, self.backup)
            if self.new is not None:
                os.replace(self.stage, self.final)

    def settle(self, keep: int | None) -> None:
        """Leave the entry with inode ``keep`` at ``final`` (nothing, for None), wherever
        it is among the unit's three paths, and remove the others."""
        paths = (self.final, self.stage, self.backup)
        found = {p: _inode(p) for p in paths}
        if keep is not None and found[self.final] != keep:
            source = next((p for p in paths if found[p] == keep), None)
            if source is not None:
                if found[self.final] is not None:
                    remove(self.final)
                self.final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, self.final)
                found[source], found[self.final] = None, keep
        for p in paths:
            if found[p] is not None and (p != self.final or found[p] != keep):
                remove(p)


@dataclass
class Journal:
    """The write-ahead record of one publication (a JSON file, replaced atomically)."""

    path: Path
    token: str
    model: str
    run_id: str
    keys: list[str] | None = None  # the partitions it writes (None: the whole model)
    work: Path | None = None  # the staging folder (local locations)
    location: str = ""
    remote: bool = False
    phase: str = "writing"
    units: list[Unit] = field(default_factory=list)

    def write(self, durable: bool = True) -> None:
        """Replace the journal file atomically; ``durable`` also syncs it to disk (what a
        power cut must not lose: the record written before anything moves)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "token": self.token,
            "model": self.model,
            "run_id": self.run_id,
            "keys": self.keys,
            "work": str(self.work) if self.work is not None else None,
            "location": self.location,
            "remote": self.remote,
            "phase": self.phase,
            "units": [u.to_json() for u in self.units],
        }
        partial = self.path.with_suffix(".partial")
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(data, f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(partial, self.path)
        if durable:
            _fsync_dir(self.path.parent)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @classmethod
    def read(cls, path: Path) -> Journal | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(
            path=path,
            token=data["token"],
            model=data["model"],
            run_id=data["run_id"],
            keys=data.get("keys"),
            work=Path(data["work"]) if data.get("work") else None,
            location=data.get("location", ""),
            remote=bool(data.get("remote")),
            phase=data.get("phase", "writing"),
            units=[Unit.from_json(u) for u in data.get("units", [])],
        )


class Publication:
    """One publication of files to a local location: a staging folder beside it, units to
    swap, and the journal that makes a kill at any point recoverable."""

    def __init__(
        self,
        journals: Path,
        location: str,
        *,
        model: str,
        run_id: str,
        keys: list[str] | None = None,
    ) -> None:
        self.token = new_token()
        self.location = Path(location)
        self.work = work_dir(location)
        self.stage_root = self.work / f"stage-{self.token}"
        self.backup_root = self.work / f"old-{self.token}"
        self.journal = Journal(
            journals / f"{self.token}.json",
            self.token,
            model,
            run_id,
            keys,
            self.work,
            location,
        )
        self.units: list[Unit] = []
        self.swapped = False

    def begin(self) -> None:
        """Journal the staging folder, then create it (removing temporaries no journal
        accounts for: left by a process killed before it journaled them). A kill cannot
        lose this record; a power cut can, and then what it names is removed by the next
        publication here, so it is not synced to disk."""
        self.journal.write(durable=False)
        if self.work.is_dir():
            for entry in self.work.iterdir():
                token = entry.name.split("-", 1)[-1]
                if not (self.journal.path.parent / f"{token}.json").exists():
                    remove(entry)
        self.stage_root.mkdir(parents=True, exist_ok=True)

    def unit(self, relative: str = "") -> Path:
        """The staged path of the unit at ``relative`` (``""``: the location itself)."""
        stage = self.stage_root / relative if relative else self.stage_root
        final = self.location / relative if relative else self.location
        backup = self.backup_root / relative if relative else self.backup_root
        self.units.append(Unit(final, stage, backup))
        return stage

    def single_file(self) -> Path:
        """The staged path of a one-file location."""
        stage = self.stage_root / self.location.name
        self.units.append(Unit(self.location, stage, self.backup_root / self.location.name))
        return stage

    def publish(self, suffix: str) -> None:
        """Record what is in place and what was staged, then swap every unit. A unit whose
        stage holds no data file becomes empty (a partition that returned no rows)."""
        for u in self.units:
            u.old = _inode(u.final)
            if u.stage.is_dir() and not has_files(u.stage, suffix):
                remove(u.stage)
            u.new = _inode(u.stage)
        self.journal.phase = "publishing"
        self.journal.units = self.units
        self.journal.write()
        self.swapped = True
        for u in self.units:
            u.swap()

    def undo(self) -> None:
        """The transaction did not commit: the old files back in place, temporaries gone."""
        if self.swapped:
            for u in self.units:
                u.settle(u.old)
        self._clean()

    def finish(self) -> None:
        """The transaction committed: the old files and the journal go. What cannot be
        removed now (a file system error) stays journaled for the next writer to finish:
        the publication itself stands."""
        try:
            for u in self.units:
                u.settle(u.new)
            self._clean()
        except OSError as exc:
            import logging

            logging.getLogger("teal").warning(
                "%s is published, but its old files could not be removed yet (%s); the next "
                "build removes them",
                self.location,
                exc,
            )

    def _clean(self) -> None:
        remove(self.stage_root)
        remove(self.backup_root)
        with contextlib.suppress(OSError):
            self.work.rmdir()  # only when no other publication is using it
        self.journal.remove()


@dataclass
class Recovered:
    """What :func:`recover` did with one journal left by a killed process."""

    model: str
    keys: list[str] | None
    token: str
    outcome: str  # "cleaned" (temporaries only), "kept new", "restored old", "rebuild"
    remote: bool = False


def pending(journals: Path | None) -> list[Journal]:
    """The journals a killed process left."""
    if journals is None or not journals.is_dir():
        return []
    found = []
    for path in sorted(journals.glob("*.json")):
        journal = Journal.read(path)
        if journal is None:  # half of a journal: its publication never started
            path.unlink(missing_ok=True)
            continue
        found.append(journal)
    for partial in journals.glob("*.partial"):
        partial.unlink(missing_ok=True)
    return found


def recover(journals: Path | None, committed: Callable[[str], bool]) -> list[Recovered]:
    """Finish or undo every publication a killed process left; ``committed(token)`` says
    whether its state row is in the warehouse."""
    done: list[Recovered] = []
    for journal in pending(journals):
        if journal.remote:
            outcome = "kept new" if committed(journal.token) else "rebuild"
        elif journal.phase == "writing":
            outcome = "cleaned"
        else:
            keep_new = committed(journal.token)
            for unit in journal.units:
                unit.settle(unit.new if keep_new else unit.old)
            outcome = "kept new" if keep_new else "restored old"
        if journal.work is not None:
            remove(journal.work / f"stage-{journal.token}")
            remove(journal.work / f"old-{journal.token}")
            with contextlib.suppress(OSError):
                journal.work.rmdir()
        done.append(Recovered(journal.model, journal.keys, journal.token, outcome, journal.remote))
        journal.remove()
    if journals is not None:
        with contextlib.suppress(OSError):
            journals.rmdir()
    return done
