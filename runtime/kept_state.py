"""Earlier runs' state for planning without building (``teal plan``, ``teal ls``).

Importing the engine and opening a warehouse of many tables to read its state costs about
half of a warm ``teal plan``. So what was read is kept in ``.teal/cache/state.pickle`` with
the identity of the warehouse file and its WAL (device, inode, size, modification and
change times, to the nanosecond): any write to the warehouse, by teal or anything else,
changes it, and the next read opens the file again.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import pickle
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from teal.compiler.check_failures import RULE as FAILED_CHECKS_RULE
from teal.compiler.config import ProjectConfig
from teal.compiler.discover import display_path
from teal.compiler.errors import TealError, WarehouseBusy
from teal.compiler.partition_records import FIELDS, PICKLED_FORM, PartitionRecords
from teal.compiler.plan import ModelState, PlanState
from teal.compiler.replaced_files import replacing

if TYPE_CHECKING:
    from teal.compiler.offload import ForkedCall
    from teal.compiler.strategy import LoadStrategy

FileIdentity = tuple[tuple[int, int, int, int, int] | None, ...]

# a file system that keeps times to the second could see a later write in the same second
# as no change (git's "racy clean" rule): state read from a file written this recently is
# not kept
RACY_NS = 2_000_000_000


def read_plan_state(config: ProjectConfig, path: Path) -> PlanState:
    """The planner's state, read from the warehouse file at ``path`` (read-only)."""
    from teal.warehouse.engine import open_engine

    with open_engine(config, path=path, read_only=True) as wh:
        found: PlanState = wh.plan_state()
    return found


def read_state(
    cfg: ProjectConfig,
    read: Callable[[Path], PlanState],
    on_busy: Callable[[TealError], None] | None = None,
) -> PlanState:
    """The planner's state of ``cfg``'s warehouse: kept, or ``read(path)`` and kept.

    While another process holds the warehouse (a build), the state kept from the last read
    is returned instead, and ``on_busy`` is told how old it is: ``teal plan``, ``teal
    partitions`` and state selectors keep working during a build. With nothing kept, the
    warehouse's :class:`WarehouseBusy` error is raised."""
    now = state_now(cfg)
    if now is not None:
        return now
    path = cfg.warehouse_path
    identity = file_identity(Path(path))
    kept = _kept_path(cfg)
    shape = _state_shape()
    try:
        found = read(Path(path))
    except WarehouseBusy as busy:
        try:
            stored = load_kept(kept)
        except Exception:  # noqa: BLE001 - none kept, or unreadable
            raise busy from None
        if (stored.get("warehouse"), stored.get("shape")) != (str(path), shape):
            raise
        kept_at = time.strftime("%H:%M:%S", time.localtime(kept.stat().st_mtime))
        if on_busy is not None:
            on_busy(
                WarehouseBusy(
                    f"{busy.message}: showing its state as teal last read it, at {kept_at} "
                    "(without what was built since: this build's changes, and any run that "
                    "ended after that read)",
                    path=display_path(cfg.root, Path(path)),
                    hint="`teal runs` shows the run in progress; `teal logs last --follow` "
                    "follows it",
                )
            )
        before: PlanState = stored["state"]
        return before
    newest = max((part[3] for part in identity if part is not None), default=0)
    settled = file_identity(Path(path)) == identity and time.time_ns() - newest > RACY_NS
    try:
        # state read while the file was changing, or just after, is kept without its
        # identity: never taken for the current state, only shown while a build holds it
        payload = {
            "warehouse": str(path),
            "identity": identity if settled else None,
            "shape": shape,
            "state": found,
        }
        with replacing(kept) as fh:
            dump_kept(payload, fh)
    except OSError:
        pass  # a read-only project: it reads the warehouse each time
    return found


def state_now(cfg: ProjectConfig) -> PlanState | None:
    """What :func:`read_state` gives without opening ``cfg``'s warehouse: no state when
    there is no warehouse, the kept state when it describes the warehouse as it is now;
    None when the warehouse must be read."""
    path = cfg.warehouse_path
    if str(path) == ":memory:" or not Path(path).exists():
        return PlanState()
    try:
        stored = load_kept(_kept_path(cfg))
    except Exception:  # noqa: BLE001 - none yet, or unreadable
        return None
    now = (str(path), file_identity(Path(path)), _state_shape())
    if (stored["warehouse"], stored["identity"], stored["shape"]) != now:
        return None
    found: PlanState = stored["state"]
    return found


def state_ahead(cfg: ProjectConfig, strategy: LoadStrategy) -> PlanState | ForkedCall | None:
    """The state as :func:`state_now` knows it, else a forked child (where ``strategy``
    allows forking; None where it does not) reading it on the other core while the project
    loads; the child gives up if the warehouse is busy (the caller then reads it and says
    so)."""
    known = state_now(cfg)
    if known is not None:
        return known
    from teal.compiler.offload import ForkedCall

    def read() -> PlanState:
        def busy(notice: TealError) -> None:
            raise notice

        return read_state(cfg, lambda path: read_plan_state(cfg, path), busy)

    return ForkedCall.start(read, strategy)


def _kept_path(cfg: ProjectConfig) -> Path:
    return cfg.root / ".teal" / "cache" / "state.pickle"


# The kept file: MAGIC, the pickle's length and its buffers' count and lengths (unsigned
# 64-bit little-endian), the pickle (protocol 5), then its out-of-band buffers: each model's
# partition rows (compiler/partition_records.py). Read through a memory map, a buffer is
# read from disk only when its model is asked for: `teal partitions MODEL` on a warehouse of
# 730,000 partitions reads its model's rows, not 50 MB.
MAGIC = b"teal-kept-state\x01"


def dump_kept(payload: dict[str, Any], fh: BinaryIO) -> None:
    """Write ``payload`` to ``fh`` in the kept file's form."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(payload, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    fh.write(MAGIC)
    fh.write(struct.pack(f"<{2 + len(raws)}Q", len(data), len(raws), *map(len, raws)))
    fh.write(data)
    for raw in raws:
        fh.write(raw)


def load_kept(path: Path) -> dict[str, Any]:
    """What :func:`dump_kept` wrote to ``path``; ValueError if it is not that form."""
    with path.open("rb") as fh:
        # POSIX: mapped, so untouched buffers are never read (and a later os.replace of the
        # file leaves this mapping whole); elsewhere a mapped file could not be replaced
        data: mmap.mmap | bytes = (
            mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if os.name == "posix" else fh.read()
        )
    view = memoryview(data)
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise ValueError("not a kept state of this form")
    at = len(MAGIC)
    size, count = struct.unpack_from("<2Q", view, at)
    lengths = struct.unpack_from(f"<{count}Q", view, at + 16)
    at += 16 + 8 * count
    body = view[at : at + size]
    at += size
    buffers = []
    for length in lengths:
        buffers.append(view[at : at + length])
        at += length
    if at != len(view):
        raise ValueError("a kept state cut short")
    found: dict[str, Any] = pickle.loads(body, buffers=buffers)
    return found


def _state_shape() -> tuple[tuple[str, ...], ...]:
    """The fields of what is kept, the form of its partition rows and the rule that
    decided which failed checks stand: a teal whose PlanState differs does not read it."""
    return (
        *(tuple(f.name for f in dataclasses.fields(cls)) for cls in (PlanState, ModelState)),
        (PartitionRecords.__name__, str(PICKLED_FORM), *FIELDS),
        ("failed_checks", str(FAILED_CHECKS_RULE)),
    )


def file_identity(path: Path) -> FileIdentity:
    """What changes whenever a database file or its write-ahead log is written."""
    found: list[tuple[int, int, int, int, int] | None] = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            st = file.stat()
        except FileNotFoundError:
            found.append(None)
        else:
            found.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(found)
