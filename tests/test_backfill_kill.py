"""SIGKILL a backfill at random points; rerunning it must end with exactly a clean build.

Each partition is replaced in its own transaction (rows and state row together), so a kill
at any moment leaves every partition either as it was or fully rebuilt. After each kill this
checks that invariant directly -- a partition has rows if and only if teal.partition_state
says it was built, and then exactly the rows a clean build writes -- and after the final,
uninterrupted rerun that the whole table equals a clean build in another warehouse (per
partition counts and checksums, and EXCEPT ALL both ways), with no duplicates.

Kills land after a random number of finished partitions (read from the progress lines on
stdout) or after a random short delay (anywhere: startup, mid-partition, mid-commit). The
randomness is seeded; set TEAL_KILL_SEED to replay another sequence.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.checksums import content_checksums
from tests.conftest import run_teal, write_project

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("TEAL_KILL_SEED", "20260101"))
ENV = {"TEAL_NOW": "2026-03-01T00:00:00", "PYTHONUNBUFFERED": "1"}
ROWS = 100_000  # per partition: a 30-day backfill takes a couple of seconds
FIRST, LAST = "2026-01-01", "2026-01-30"
KEYS = [f"2026-01-{d:02d}" for d in range(1, 31)]
SPEC = "{'daily': {'start': '2026-01-01', 'end': '2026-01-31'}}"

SQL_PROJECT = {
    # rows every 2.16 s of the day, a hash and an md5 payload per row
    "models/big.sql": f"""
        {{{{ config(partitioned_by={SPEC}, partition_column='ts') }}}}
        select {{{{ partition.start }}}} + to_microseconds(i * {86_400_000_000 // ROWS}) as ts,
               i as n,
               hash(i, '{{{{ partition.key }}}}') as h,
               md5(i::varchar || '{{{{ partition.key }}}}') as payload
        from range({ROWS}) t(i)
    """,
    # the same partitions downstream, through the pushed-down filter
    "models/big_daily.sql": f"""
        {{{{ config(partitioned_by={SPEC}, partition_column='day') }}}}
        select date_trunc('day', ts) as day, count(*) as n, sum(h % 1000) as h_sum,
               min(payload) as first_payload
        from big group by 1
    """,
}

PY_PROJECT = {
    "models/big_py.py": f"""
        from datetime import timedelta

        import polars as pl
        import teal

        @teal.asset(partitioned_by={SPEC}, partition_column='ts')
        def big_py(context: teal.AssetContext) -> pl.DataFrame:
            start, end = context.partition_window
            key = context.partition_key
            frame = pl.DataFrame({{'n': pl.int_range(0, {ROWS}, eager=True)}})
            return frame.with_columns(
                ts=pl.lit(start) + pl.duration(microseconds=pl.col('n') * {86_400_000_000 // ROWS}),
                payload=pl.col('n').cast(pl.String) + pl.lit('-' + key),
                h=(pl.col('n') * 7919 + int(key.replace('-', ''))) % 1_000_003,
            )
    """,
}

PROGRESS = re.compile(r"^\s+(\S+) \[\s*(\d+)/(\d+)\] OK\s")


def checksums(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> dict[str, tuple]:
    """key -> (rows, checksum) for every partition of ``relation`` that has rows."""
    rows = con.execute(f"""
        select strftime({column}::date, '%Y-%m-%d'), count(*),
               sum(hash(t)) from {relation} t group by 1""").fetchall()
    return {k: (n, s) for k, n, s in rows}


def run_and_kill(
    root: Path, args: list[str], model: str, rng: random.Random, duration: float, todo: int
) -> tuple[str, bool]:
    """Start ``teal <args>``, SIGKILL it at a random point: (how, whether it was still running).

    ``duration``: how long a whole build took here, to spread delay-kills over it; ``todo``:
    how many partitions of ``model`` the command builds."""
    full_env = {**os.environ, **ENV}
    full_env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", *args, "-v"],  # -v: a line per partition
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=full_env,
    )
    try:
        if rng.random() < 0.6:
            after = rng.randrange(0, max(todo - 1, 1))
            how = f"after {after} partitions of {model}"
            done = 0
            if after == 0:
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                for line in proc.stdout:  # type: ignore[union-attr]
                    match = PROGRESS.match(line)
                    if match and match.group(1) == model:
                        done = int(match.group(2))
                        if done >= after:
                            break
            # let it get a random bit into the next partition (or its commit)
            time.sleep(rng.uniform(0.0, 0.05))
        else:
            delay = rng.uniform(0.1, 0.8) * duration
            how = f"after {delay:.2f}s"
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stdout:
            proc.stdout.close()
    killed = proc.returncode == -signal.SIGKILL
    return how + ("" if killed else f" (it had finished: {proc.returncode})"), killed


def built_keys(db: Path, model: str) -> set[str]:
    if not db.exists():
        return set()
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            k
            for (k,) in con.execute(
                "select partition_key from teal.partition_state where model = ? and status = 'success'",
                [model],
            ).fetchall()
        }
    except duckdb.CatalogException:  # killed before the state tables were created
        return set()
    finally:
        con.close()


def check_partitions(
    db: Path,
    clean: dict[str, dict[str, tuple]],
    columns: dict[str, str],
    context: str,
    *,
    complete: bool,
) -> None:
    """Every partition is all old or all new: rows iff recorded as built, and then exactly
    the clean build's rows. ``complete``: every key must be built."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        for model, column in columns.items():
            exists = con.execute(
                "select count(*) from information_schema.tables where table_name = ?", [model]
            ).fetchone()[0]
            state = (
                dict(
                    con.execute(
                        "select partition_key, status from teal.partition_state where model = ?",
                        [model],
                    ).fetchall()
                )
                if con.execute(
                    "select count(*) from information_schema.tables where table_schema = 'teal' "
                    "and table_name = 'partition_state'"
                ).fetchone()[0]
                else {}
            )
            have = checksums(con, model, column) if exists else {}
            built = {k for k, s in state.items() if s == "success"}
            assert set(have) == built, (
                f"{context}: {model} has rows for {sorted(set(have) - built)} without a "
                f"success record, and records {sorted(built - set(have))} without rows"
            )
            wrong = {k: (have[k], clean[model][k]) for k in have if have[k] != clean[model][k]}
            assert not wrong, f"{context}: {model} partitions differ from a clean build: {wrong}"
            if complete:
                assert built == set(KEYS), f"{context}: {model} lacks {sorted(set(KEYS) - built)}"
                assert state == {k: "success" for k in KEYS}, context
            leftovers = con.execute(
                "select table_name from information_schema.tables "
                "where table_name like '%teal_new%' or table_name like "
                "'__teal_stage%'"
            ).fetchall()
            assert not leftovers, f"{context}: leftover tables {leftovers}"
    finally:
        con.close()


def assert_equals_clean(db: Path, clean_db: Path, columns: dict[str, str], context: str) -> None:
    """Every relation holds what a clean build holds: the same columns and types, rows and
    row hashes (tests/checksums.py), and no partition's rows twice."""
    mine, clean = content_checksums(db), content_checksums(clean_db)
    assert mine.keys() == clean.keys(), f"{context}: relations differ"
    for relation in clean:
        assert mine[relation] == clean[relation], (
            f"{context}: {relation} differs from a clean build"
        )
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute(f"attach '{clean_db}' as clean (read_only)")
        for model, column in columns.items():
            total, distinct = con.execute(
                f"select count(*), count(distinct ({column}, n)) from {model}"
            ).fetchone()
            assert total == distinct, f"{context}: {model} has {total - distinct} duplicates"
            for a, b in ((model, f"clean.{model}"), (f"clean.{model}", model)):
                extra = con.execute(
                    f"select count(*) from (select * from {a} except all select * from {b})"
                ).fetchone()[0]
                assert extra == 0, f"{context}: {extra} rows of {a} are not in {b}"
    finally:
        con.close()


def clean_build(
    root: Path, columns: dict[str, str]
) -> tuple[Path, dict[str, dict[str, tuple]], float]:
    started = time.perf_counter()
    result = run_teal("build", "--warehouse", "clean.duckdb", cwd=root, env=ENV)
    duration = time.perf_counter() - started
    assert result.returncode == 0, result.output
    clean_db = root / "clean.duckdb"
    con = duckdb.connect(str(clean_db), read_only=True)
    try:
        sums = {m: checksums(con, m, c) for m, c in columns.items()}
    finally:
        con.close()
    for model in columns:
        assert sorted(sums[model]) == KEYS
    return clean_db, sums, duration


@pytest.mark.parametrize(
    "variant, files, columns, kills",
    [
        ("sql", SQL_PROJECT, {"big": "ts", "big_daily": "day"}, (3, 3)),
        ("python", PY_PROJECT, {"big_py": "ts"}, (2, 2)),
    ],
)
def test_killed_backfills_rerun_to_exactly_a_clean_build(tmp_path, variant, files, columns, kills):
    root = write_project(tmp_path / variant, files)
    model = next(iter(columns))
    rng = random.Random(f"{SEED}-{variant}")
    clean_db, clean, duration = clean_build(root, columns)
    db = root / "warehouse.duckdb"

    # 1. a first build into an empty warehouse, killed again and again, then finished
    fresh_kills, replace_kills = kills
    killed = 0
    for i in range(fresh_kills):
        built = built_keys(db, model)
        if len(built) == len(KEYS):  # the last kill came too late: start again from nothing
            for path in (db, db.with_name(db.name + ".wal")):
                path.unlink(missing_ok=True)
            built = set()
        how, was_running = run_and_kill(
            root, ["build"], model, rng, duration, len(KEYS) - len(built)
        )
        killed += was_running
        context = f"seed {SEED}, {variant}, build kill {i + 1} {how}"
        print(context)
        if db.exists():
            check_partitions(db, clean, columns, context, complete=False)
    # finish what is missing: `teal build`, or a backfill of the missing partitions
    rerun = ["build"] if variant == "sql" else ["backfill", model, "--missing-only"]
    done = run_teal(*rerun, cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    check_partitions(db, clean, columns, f"seed {SEED}, {variant}, after the rerun", complete=True)
    assert_equals_clean(db, clean_db, columns, f"seed {SEED}, {variant}, after the rerun")

    # 2. a backfill that replaces existing partitions, killed: each one is old or new, never
    #    both, never neither (old and new rows are the same, so the table never changes)
    backfill = ["backfill", model, "--from", FIRST, "--to", LAST]
    for i in range(replace_kills):
        how, was_running = run_and_kill(root, backfill, model, rng, duration, len(KEYS))
        killed += was_running
        context = f"seed {SEED}, {variant}, backfill kill {i + 1} {how}"
        print(context)
        check_partitions(db, clean, columns, context, complete=True)
    assert killed, "every process had finished before its kill: nothing was tested"
    assert "Nothing to build" in run_teal(*backfill, "--missing-only", cwd=root, env=ENV).stdout
    done = run_teal(*backfill, "-v", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert len(re.findall(rf"^\s+{model} \[\s*\d+/30\] OK", done.stdout, re.M)) == 30
    check_partitions(
        db, clean, columns, f"seed {SEED}, {variant}, after the backfill", complete=True
    )
    assert_equals_clean(db, clean_db, columns, f"seed {SEED}, {variant}, after the backfill")
