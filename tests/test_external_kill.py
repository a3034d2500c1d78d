"""kill -9 while an external model's files are written or moved into place: the next writer
to open the warehouse finds the old files or the new ones (as its state rows say), never a
half-written folder, and no temporaries; a rebuild then equals a clean build.

Two ways to kill:

- at each step of a publication, deterministically (a build in a subprocess whose
  publication calls ``os._exit`` at that step): after the files are staged, after the
  journal says they are being published, half-way through a swap by two renames, after
  the swap but before the commit, after the commit but before the old files are removed;
- with SIGKILL at random moments of a 20-partition build (after a random number of
  partitions, or after a random delay), several rounds; each round writes a new version
  of every partition, so a folder can be checked to hold one version, the one its state
  row records. Set TEAL_KILL_SEED to replay another sequence.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.conftest import query, run_teal, write_project

pytestmark = pytest.mark.slow

SALES = """
    {{ config(materialized='external') }}
    select i as id, i % 7 as k, ((i * 1.25) + {{ var('bump', 0) }})::decimal(12, 2) as amount
    from range(20000) t(i)
"""
DAILY = """
    {{ config(materialized='external', partitioned_by={'daily': {'start': '2025-01-01',
       'end': '2025-01-04'}}, partition_column='day', partition_by='k') }}
    select cast('{{ partition.start }}' as date) as day, id, k, amount + {{ var('bump', 0) }} as amount
    from sales
"""
CONFIG = 'name = "kill"\nthreads = 1\n'

# a build of `select` with vars, whose publications die at `point` (os._exit)
DRIVER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import teal
    import teal.warehouse.files as files
    import teal.warehouse.duckdb.external as x

    root, point, select, bump = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    partitions = [k for k in sys.argv[5:6] if k != "-"]

    def die():
        os._exit(137)

    if point == "staged":  # the files are written to the temporary sibling
        write = x.write_files
        def staged(*args, **kw):
            write(*args, **kw)
            die()
        x.write_files = staged
    elif point == "journaled":  # the journal says 'publishing'; nothing moved yet
        files.Unit.swap = lambda self: die()
    elif point == "half-swapped":  # the old files moved away, the new not in place yet
        def half(self):
            self.backup.parent.mkdir(parents=True, exist_ok=True)
            if self.old is not None:
                os.replace(self.final, self.backup)
            die()
        files.Unit.swap = half
    elif point == "swapped":  # the new files in place, the transaction not committed
        swap = files.Unit.swap
        def swapped(self):
            swap(self)
            die()
        files.Unit.swap = swapped
    elif point == "committed":  # committed; the old files and the journal still there
        files.Publication.finish = lambda self: die()
    result = teal.build(
        root, select=select, vars={"bump": bump}, threads=1, partitions=partitions
    )
    print(json.dumps({"success": result.success}))
    """
)

POINTS = {  # point -> whether the new version is what the warehouse committed
    "staged": False,
    "journaled": False,
    "half-swapped": False,
    "swapped": False,
    "committed": True,
}


def rows_of(path: Path) -> list[tuple]:
    """The rows of the files at ``path`` (a file or a folder), read by pyarrow."""
    if path.is_file():
        table = pq.read_table(path)
    else:
        table = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    names = sorted(table.column_names)
    return sorted(tuple(str(r[n]) for n in names) for r in table.to_pylist())


def leftovers(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*.teal-tmp")] + [str(p) for p in root.glob("*.journal")]


def open_writer(root: Path) -> list:
    """Open the warehouse for writing (as the next build does): recovery runs."""
    from teal.warehouse.duckdb import DuckDBEngine

    engine = DuckDBEngine(root / "warehouse.duckdb")
    try:
        return list(engine.recovered)
    finally:
        engine.close()


def build(root: Path, *args: str) -> str:
    done = run_teal("build", *args, cwd=root, env={"TEAL_NOW": "2025-02-01T00:00:00"})
    assert done.returncode == 0, done.output
    return done.output


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, list[tuple]]]:
    """The rows of a clean build of every version: bump -> location -> rows."""
    out: dict[int, dict[str, list[tuple]]] = {}
    for bump in (0, 1000):
        root = write_project(
            tmp_path_factory.mktemp(f"clean{bump}"),
            {"models/sales.sql": SALES, "models/daily.sql": DAILY},
            CONFIG,
        )
        build(root, "--vars", json.dumps({"bump": bump}))
        lake = root / "external" / "main"
        out[bump] = {
            "sales": rows_of(lake / "sales.parquet"),
            **{day: rows_of(lake / "daily" / day) for day in ("2025-01-01", "2025-01-02")},
        }
    return out


@pytest.mark.parametrize("point", list(POINTS))
@pytest.mark.parametrize("model", ["sales", "daily"])
def test_a_kill_at_each_step_of_a_publication_leaves_old_or_new_files(
    tmp_path: Path, clean: dict, point: str, model: str
) -> None:
    root = write_project(
        tmp_path / "p", {"models/sales.sql": SALES, "models/daily.sql": DAILY}, CONFIG
    )
    build(root, "--vars", '{"bump": 0}')
    lake = root / "external" / "main"
    unit = lake / "sales.parquet" if model == "sales" else lake / "daily" / "2025-01-02"
    key = "sales" if model == "sales" else "2025-01-02"
    assert rows_of(unit) == clean[0][key]
    published = query(root / "warehouse.duckdb", "select count(*) from teal.external")[0][0]
    old = rows_of(unit)
    others = {d: rows_of(lake / "daily" / d) for d in ("2025-01-01", "2025-01-03")}

    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    partition = "2025-01-02" if model == "daily" else "-"  # one partition refreshed alone
    args = [sys.executable, "-c", DRIVER, str(root), point, model, "1000", partition]
    # the same build, not killed, in a copy: what the new version of the unit holds
    twin = tmp_path / "twin"
    shutil.copytree(root, twin)
    done = subprocess.run(
        [*args[:3], str(twin), "none", *args[5:]], env=env, capture_output=True, text=True
    )
    assert '"success": true' in done.stdout, done.stdout + done.stderr
    new = rows_of(twin / unit.relative_to(root))
    assert new != old

    killed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == 137, killed.stdout + killed.stderr

    recovered = open_writer(root)
    assert [r.model for r in recovered] == [model]
    committed = POINTS[point]
    assert recovered[0].outcome == (
        "cleaned" if point == "staged" else ("kept new" if committed else "restored old")
    )
    assert leftovers(root) == []
    # the files are one version, the one the warehouse's state rows say was published
    assert rows_of(unit) == (new if committed else old)
    now_published = query(root / "warehouse.duckdb", "select count(*) from teal.external")[0][0]
    assert now_published == published + (1 if committed else 0)
    for day, rows in others.items():  # the partitions not being written are untouched
        assert rows_of(lake / "daily" / day) == rows

    # a rebuild of the new version equals a clean build of it
    build(root, "--vars", '{"bump": 1000}', "--full-refresh")
    assert rows_of(lake / "sales.parquet") == clean[1000]["sales"]
    for day in ("2025-01-01", "2025-01-02"):
        assert rows_of(lake / "daily" / day) == clean[1000][day]
    assert leftovers(root) == []


# -- random SIGKILLs ----------------------------------------------------------------------

SEED = int(os.environ.get("TEAL_KILL_SEED", "20260223"))
ROWS = 30_000  # per partition and round: a round takes a second or two
PARTS = 20
EVENTS = f"""
    {{{{ config(materialized='external', partitioned_by={{'daily': {{'start': '2025-01-01',
       'end': '2025-01-{PARTS + 1:02d}'}}}}, partition_column='day', partition_by='bucket') }}}}
    select cast('{{{{ partition.start }}}}' as date) as day, i % 4 as bucket, i as n,
           {{{{ var('round', 0) }}}} as round,
           md5(i::varchar || '{{{{ partition.key }}}}' || '{{{{ var("round", 0) }}}}') as payload
    from range({ROWS} + {{{{ var('round', 0) }}}}) t(i)
"""
TOTAL = """
    {{ config(materialized='external') }}
    select round, count(*) as n from events group by round
"""
PROGRESS = re.compile(r"^\s+events \[\s*(\d+)/(\d+)\] OK\s")


def check_invariants(root: Path) -> None:
    """After recovery: each partition folder holds one round's rows, exactly the rows the
    state row of its latest publication counts; nothing is left over."""
    assert leftovers(root) == []
    db = root / "warehouse.duckdb"
    latest = dict(
        query(
            db,
            "select partition_key, rows from (select *, row_number() over (partition by "
            "partition_key order by published_at desc) as rn from teal.external "
            "where model = 'events') where rn = 1",
        )
    )
    built = {
        k
        for (k,) in query(
            db,
            "select partition_key from teal.partition_state "
            "where model = 'events' and status = 'success'",
        )
    }
    lake = root / "external" / "main" / "events"
    present = sorted(p.name for p in lake.iterdir()) if lake.exists() else []
    assert set(present) == set(latest), "a folder exists iff a publication of it committed"
    assert built <= set(latest)
    for day in present:
        table = ds.dataset(lake / day, format="parquet", partitioning="hive").to_table()
        rounds = set(table.column("round").to_pylist())
        assert len(rounds) == 1, f"{day} mixes rounds {rounds}"
        assert table.num_rows == latest[day] == ROWS + rounds.pop()


def test_sigkill_at_random_moments_then_a_rebuild_equals_a_clean_build(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    files = {"models/events.sql": EVENTS, "models/total.sql": TOTAL}
    root = write_project(tmp_path / "killed", files, CONFIG)
    env = {**os.environ, "TEAL_NOW": "2025-02-01T00:00:00", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    t0 = time.monotonic()
    build(root, "--vars", '{"round": 0}')
    duration = time.monotonic() - t0
    kills = 0
    for round_ in range(1, 7):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "teal.cli",
                "build",
                "-v",
                "--vars",
                json.dumps({"round": round_}),
            ],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        if rng.random() < 0.6:  # after some partitions, a little into the next one
            after = rng.randrange(1, PARTS - 1)
            for line in proc.stdout:  # type: ignore[union-attr]
                match = PROGRESS.match(line)
                if match and int(match.group(1)) >= after:
                    break
            time.sleep(rng.uniform(0.0, 0.04))
        else:
            time.sleep(rng.uniform(0.1, 0.9) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if proc.stdout:
            proc.stdout.close()
        kills += proc.returncode == -signal.SIGKILL
        open_writer(root)
        check_invariants(root)
    assert kills >= 3, "most rounds should have been killed mid-build"

    final = json.dumps({"round": 9})
    build(root, "--vars", final)
    check_invariants(root)
    clean_root = write_project(tmp_path / "clean", files, CONFIG)
    build(clean_root, "--vars", final)
    for name in ("events", "total"):
        got = root / "external" / "main" / name
        want = clean_root / "external" / "main" / name
        if name == "total":
            got, want = got.with_suffix(".parquet"), want.with_suffix(".parquet")
        assert rows_of(got) == rows_of(want), name
    assert query(root / "warehouse.duckdb", "select * from total") == [(9, PARTS * (ROWS + 9))]
