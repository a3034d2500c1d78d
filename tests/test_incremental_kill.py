"""SIGKILL builds that change existing tables in place: an incremental merge, an incremental
delete+insert and a single_run backfill of 30 partitions. Each round builds every row
again with a new ``round`` var; a build killed at a random moment must leave each table
wholly at the previous round or wholly at the new one (one transaction with its state
row), never a mix, never a row lost or doubled; the build run again without a kill then
equals a clean build of that round.

The kills land after a random delay spread over how long a clean build takes here (the
delay only chooses the moment to kill; nothing waits on it). The randomness is seeded;
set TEAL_KILL_SEED to replay another sequence.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_teal, spawn_teal, write_project

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("TEAL_KILL_SEED", "20260301"))
ENV = {"TEAL_NOW": "2026-03-01T00:00:00"}
N = 300_000  # rows of each table: a round takes long enough to be killed inside
SPEC = "{'daily': {'start': '2026-01-01', 'end': '2026-01-31'}}"

FILES = {
    # every id again each round: merged on the key
    "models/merged.sql": f"""
        {{{{ config(materialized='incremental', unique_key='id') }}}}
        select i as id, {{{{ var('round', 0) }}}} as r,
               md5(i::varchar || '-' || {{{{ var('round', 0) }}}}) as payload
        from range({N}) t(i)
    """,
    # several rows per key: each key's rows deleted, then all new rows inserted
    "models/deleted.sql": f"""
        {{{{ config(materialized='incremental', unique_key='k',
                    incremental_strategy='delete+insert') }}}}
        select i % 1000 as k, i as n, {{{{ var('round', 0) }}}} as r
        from range({N}) t(i)
    """,
    # a 30-day range from one query, in one transaction
    "models/ranged.sql": f"""
        {{{{ config(partitioned_by={SPEC}, partition_column='ts',
                    backfill_policy='single_run') }}}}
        select ts, {{{{ var('round', 0) }}}} as r, hash(ts) % 1000 as h
        from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 10 SECOND) t(ts)
    """,
}
TABLES = ("merged", "deleted", "ranged")
RANGED_ROWS = 30 * 8640


def vars_of(round_: int) -> str:
    return f"{{round: {round_}}}"


def build(root: Path, round_: int, *args: str) -> None:
    done = run_teal("build", "--vars", vars_of(round_), *args, cwd=root, env=ENV)
    assert done.returncode == 0, done.output


def rounds(db: Path) -> dict[str, set[int]]:
    """The rounds each table's rows come from, after checking it is whole: every row of
    one build, none lost, none doubled."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = {}
        for table in TABLES:
            found[table] = {r for (r,) in con.execute(f"select distinct r from {table}").fetchall()}
        assert con.execute("select count(*), count(distinct id) from merged").fetchone() == (N, N)
        wrong = con.execute(
            "select count(*) from merged where payload <> md5(id::varchar || '-' || r)"
        ).fetchone()
        assert wrong == (0,), "merged holds rows whose payload is another round's"
        assert con.execute("select count(*), count(distinct n) from deleted").fetchone() == (N, N)
        assert con.execute("select count(*) from ranged").fetchone() == (RANGED_ROWS,)
        states = con.execute(
            "select status, count(*) from teal.partition_state where model = 'ranged' group by 1"
        ).fetchall()
        assert states == [("success", 30)], states
    finally:
        con.close()
    return found


def same_rows(db: Path, clean: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute(f"attach '{clean}' as clean (read_only)")
        for table in TABLES:
            for a, b in ((table, f"clean.{table}"), (f"clean.{table}", table)):
                extra = con.execute(
                    f"select count(*) from (select * from {a} except all select * from {b})"
                ).fetchone()
                assert extra == (0,), f"{a} has {extra[0]} rows {b} has not"
    finally:
        con.close()


def test_killed_merges_and_single_run_backfills_leave_whole_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():  # also for the builds spawn_teal starts
        monkeypatch.setenv(name, value)
    rng = random.Random(SEED)
    root = write_project(tmp_path / "p", FILES)
    db = root / "warehouse.duckdb"
    build(root, 0)
    started = time.perf_counter()
    build(root, 1)  # an incremental round: what is killed below
    duration = time.perf_counter() - started
    assert rounds(db) == {t: {1} for t in TABLES}

    current, killed = 1, 0
    for round_ in range(2, 7):
        proc = spawn_teal("build", "--vars", vars_of(round_), cwd=root)
        try:
            time.sleep(rng.uniform(0.2, 1.1) * duration)  # the moment of the kill
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate(timeout=120)
        killed += proc.returncode == -signal.SIGKILL
        found = rounds(db)
        context = f"seed {SEED}, round {round_}: {found}"
        print(context, "killed" if proc.returncode == -signal.SIGKILL else "finished")
        for table, seen in found.items():
            assert seen in ({current}, {round_}), f"{context}: {table} mixes rounds"
        if all(seen == {round_} for seen in found.values()):
            current = round_  # the kill came after every commit
        else:
            build(root, round_)  # finished without a kill
            assert rounds(db) == {t: {round_} for t in TABLES}, context
            current = round_
    assert killed, "every build had finished before its kill: nothing was tested"

    clean = tmp_path / "clean"
    write_project(clean, FILES)
    build(clean, current)
    same_rows(db, clean / "warehouse.duckdb")
