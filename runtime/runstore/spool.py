"""A run's history while its network store is away: kept in a local file, delivered later.

A build whose Postgres store stays down longer than the reconnect window does not stop:
the warehouse commits what it builds (its own state is the truth of what is built), and
each store write the run makes from then on (events, step closes, the run's end, output
schemas) is appended, in order, to ``.teal/undelivered/RUN.jsonl`` in the project. A
step's start counts as on record once it is in that file, so a step's commit still waits
for it (the file is written and flushed before the commit; it survives the process being
killed, not the machine losing power). The file is delivered, in order, by the run itself
(when its writer thread finds the store back, and at its end), else by the next teal
command in the project that opens the store (``recorder.open_migrated``). Every write is
idempotent (events by run and number), so a delivery interrupted half way is made again.

The writing run holds an exclusive ``flock`` on its file until it has delivered it or
ended; a command delivers only files no process holds, so it never replays a run still
being written. Each file names the store it was kept for, and only that store gets it.
"""

from __future__ import annotations

import fcntl
import json
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from teal.runtime.runstore.records import Event, EventKind, JsonValue, RunStatus

if TYPE_CHECKING:
    from teal.runtime.runstore.sqlstore import SqlRunStore

FOLDER = Path(".teal") / "undelivered"

Op = dict[str, JsonValue]


def events_op(events: list[Event]) -> Op:
    return {
        "op": "events",
        "events": [
            {
                "run_id": e.run_id,
                "seq": e.seq,
                "at": e.at.isoformat(),
                "kind": e.kind.value,
                "model": e.model,
                "partition": e.partition_key,
                "level": e.level,
                "message": e.message,
                "data": json.loads(json.dumps(e.data, default=str)),
            }
            for e in events
        ],
    }


class Spool:
    """The store writes of run ``run_id`` that the store ``location`` could not take, in
    ``root``'s :data:`FOLDER` (written by one process, the run's: its recorder holds the
    lock of its writes)."""

    def __init__(self, root: Path, location: str, run_id: str) -> None:
        self.path = root / FOLDER / f"{run_id}.jsonl"
        self.location = location
        self.run_id = run_id
        self._fh: IO[str] | None = None

    @property
    def shown(self) -> str:
        """The file, as messages name it: in the project's folder."""
        return str(FOLDER / self.path.name)

    @property
    def active(self) -> bool:
        """Whether writes go to the file (the store was lost and has not been caught up)."""
        return self._fh is not None

    def write(self, op: Op) -> None:
        """Append ``op``, flushed to the file before this returns."""
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+", encoding="utf-8")  # held while active
            fcntl.flock(fh, fcntl.LOCK_EX)  # a command delivering files holds it briefly
            if not fh.tell():  # a new file (one left by a delivery that failed is kept)
                fh.write(json.dumps({"store": self.location, "run_id": self.run_id}) + "\n")
            self._fh = fh
        self._fh.write(json.dumps(op, default=str) + "\n")
        self._fh.flush()

    def deliver(self, store: SqlRunStore) -> None:
        """Make the file's writes in ``store``, then remove it; raises (the file stays,
        written to from then on) when the store fails meanwhile."""
        if self._fh is None:
            return
        self._fh.seek(0)
        replay(store, self._fh.read())
        self.path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        """Let go of the file (a command delivers it once the store is back)."""
        if self._fh is not None:
            self._fh.close()  # the lock goes with it
            self._fh = None


def replay(store: SqlRunStore, text: str) -> None:
    """Make the writes of a spool file's ``text`` (after its header line) in ``store``."""
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        op = json.loads(line)
        kind = op["op"]
        if kind == "events":
            store.append([_event(e) for e in op["events"]])
        elif kind == "status":
            at = datetime.fromisoformat(op["at"])
            store.set_status(op["run_id"], RunStatus(op["status"]), at=at, message=op["message"])
        elif kind == "close_open_steps":
            at = datetime.fromisoformat(op["at"])
            store.close_open_steps(op["run_id"], op["status"], at)
        elif kind == "output_schemas":
            store.set_output_schemas(op["run_id"], op["schemas"])
        else:  # a newer teal's write: kept for it, never dropped
            raise ValueError(f"unknown write {kind!r} in a spool file")


def _event(e: dict[str, JsonValue]) -> Event:
    data = e["data"]
    return Event(
        run_id=str(e["run_id"]),
        seq=int(str(e["seq"])),
        at=datetime.fromisoformat(str(e["at"])),
        kind=EventKind(str(e["kind"])),
        model=_text(e["model"]),
        partition_key=_text(e["partition"]),
        level=_text(e["level"]),
        message=_text(e["message"]),
        data=data if isinstance(data, dict) else {},
    )


def _text(value: JsonValue) -> str | None:
    return None if value is None else str(value)


def deliver_waiting(store: SqlRunStore, root: Path) -> list[Path]:
    """Deliver the spool files in ``root`` kept for ``store`` whose runs no longer write
    them (oldest first); returns the files delivered. A store lost meanwhile raises, and
    the file stays for the next command."""
    folder = root / FOLDER
    delivered: list[Path] = []
    if not folder.is_dir():
        return delivered
    for path in sorted(folder.glob("*.jsonl"), key=_modified):
        try:
            fh = open(path, encoding="utf-8")  # closed below
        except FileNotFoundError:  # another command delivered it
            continue
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its run is still writing it: it delivers it itself
                continue
            text = fh.read()
            header = json.loads(text.partition("\n")[0] or "{}")
            if header.get("store") != store.location or not path.exists():
                continue  # another store's (the setting changed), or delivered meanwhile
            replay(store, text)
            path.unlink(missing_ok=True)
            delivered.append(path)
    return delivered


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
