"""A file sensor's cursor stays bounded (the files of its last `remember_for`) while no file
runs twice and no new file is missed, with real files in a landing folder, on SQLite and a
real Postgres. The daemon's clock is simulated; files get the modification times of that
clock with os.utime (their status-change time stays the real one, which is earlier)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teal.runtime.clock import utc_now
from teal.runtime.runstore.ticks import TickStore
from tests.runstore.test_daemon import daemon, project

SENSOR = """
[sensors.landing]
files = "landing/*.csv"
select = "orders+"
remember_for = "REMEMBER"
"""


def land(root: Path, name: str, at: datetime | None = None, text: str = "x\n") -> Path:
    """Write ``landing/name``, modified at ``at`` (naive UTC; None: now)."""
    path = root / "landing" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    if at is not None:
        ns = int(at.replace(tzinfo=UTC).timestamp()) * 10**9
        os.utime(path, ns=(ns, ns))
    return path


def remembered(store: TickStore) -> list[str]:
    """The file names the sensor's cursor holds."""
    return sorted(json.loads(store.cursor("sensor:landing") or "{}")["files"])


def run_files(store: TickStore) -> list[str]:
    """The file of each run the sensor asked for, by its run key (file@version)."""
    return sorted(
        t.run_key.split("@")[0] for t in store.ticks("sensor:landing", 10_000) if t.run_key
    )


@pytest.mark.slow
def test_the_cursor_keeps_its_horizon_of_files_and_each_file_runs_once(tmp_path, store_spec):
    """A file an hour for three days, all left in the folder: each runs once, and the
    cursor holds the last six hours' files instead of all 72."""
    root = project(tmp_path, SENSOR.replace("REMEMBER", "6h"))
    start = utc_now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    d = daemon(root, store_spec)
    ticks = TickStore(d.store)
    sizes = []
    for hour in range(72):
        at = start + timedelta(hours=hour)
        land(root, f"orders_{hour:03}.csv", at)
        d.step(at + timedelta(minutes=1))
        sizes.append(len(remembered(ticks)))
    assert run_files(ticks) == [f"landing/orders_{h:03}.csv" for h in range(72)]
    assert len(d.store.runs(limit=1000)) == 72
    assert max(sizes) == 7  # the newest file and the six hours before it
    assert remembered(ticks) == [f"landing/orders_{h:03}.csv" for h in range(65, 72)]
    # a forgotten file written again is a new version: it runs again, once
    land(root, "orders_000.csv", start + timedelta(hours=72), text="corrected\n")
    d.step(start + timedelta(hours=72, minutes=1))
    d.step(start + timedelta(hours=72, minutes=2))
    assert run_files(ticks).count("landing/orders_000.csv") == 2
    d.store.close()
    # a restarted daemon with the same folder asks for nothing
    again = daemon(root, store_spec)
    assert again.step(start + timedelta(hours=73)) == []
    again.store.close()


def test_a_file_copied_with_an_old_modification_time_is_not_missed(tmp_path, store_spec):
    """`cp -p` of a month-old file into the landing folder: its modification time is far
    older than the newest file's, but the copy landed now (its status-change time)."""
    root = project(tmp_path, SENSOR.replace("REMEMBER", "7d"))
    land(root, "orders_a.csv")
    d = daemon(root, store_spec)
    now = utc_now() + timedelta(minutes=1)
    assert [o.status for o in d.step(now)] == ["requested"]
    archive = tmp_path / "archive" / "orders_b.csv"
    archive.parent.mkdir()
    archive.write_text("from last month\n")
    month_ago = int((datetime.now(UTC) - timedelta(days=30)).timestamp()) * 10**9
    os.utime(archive, ns=(month_ago, month_ago))
    shutil.copy2(archive, root / "landing" / "orders_b.csv")
    assert (root / "landing" / "orders_b.csv").stat().st_mtime_ns == month_ago
    found = d.step(now + timedelta(minutes=1))
    assert [o.status for o in found] == ["requested"]
    assert run_files(TickStore(d.store)) == ["landing/orders_a.csv", "landing/orders_b.csv"]
    d.store.close()


def test_files_run_in_the_order_they_landed(tmp_path, store_spec):
    root = project(tmp_path, SENSOR.replace("REMEMBER", "7d"))
    later = utc_now() + timedelta(hours=2)
    land(root, "a_second.csv", later)
    land(root, "z_first.csv", later - timedelta(hours=1))
    d = daemon(root, store_spec)
    found = d.step(later + timedelta(minutes=1))
    runs = [d.store.run(o.run_id or "") for o in found]
    assert [r.config["tick"] for r in runs if r] == sorted(r.config["tick"] for r in runs if r)
    keys = [
        t.run_key
        for t in sorted(TickStore(d.store).ticks("sensor:landing"), key=lambda t: t.tick_at)
    ]
    assert [k.split("@")[0] for k in keys if k] == ["landing/z_first.csv", "landing/a_second.csv"]
    d.store.close()


def test_a_cursor_written_before_the_horizon_is_read_and_nothing_in_it_runs_again(
    tmp_path, store_spec
):
    """A cursor of every file ever seen (as teal wrote it before): its files do not run
    again, a new one does, and the cursor is rewritten bounded."""
    root = project(tmp_path, SENSOR.replace("REMEMBER", "7d"))
    old = land(root, "orders_old.csv")
    d = daemon(root, store_spec)
    stat = old.stat()
    legacy = {"landing/orders_old.csv": [stat.st_mtime_ns, stat.st_size]}
    legacy |= {f"landing/gone_{i}.csv": [1, 1] for i in range(3)}  # deleted long ago
    TickStore(d.store).set_cursor("sensor:landing", json.dumps(legacy), utc_now())
    now = utc_now() + timedelta(minutes=1)
    assert d.step(now) == []
    land(root, "orders_new.csv")
    assert [o.status for o in d.step(now + timedelta(minutes=1))] == ["requested"]
    assert run_files(TickStore(d.store)) == ["landing/orders_new.csv"]
    stored = json.loads(TickStore(d.store).cursor("sensor:landing") or "{}")
    assert set(stored) == {"files", "mark"}
    d.store.close()
