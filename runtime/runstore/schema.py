"""The run store's one schema, as numbered migrations applied in order on open.

The statements are plain SQL that SQLite and Postgres both run: text, integers and
floating point only, times as ISO-8601 text in UTC (sortable, and read back the same from
both backends). A migration is never edited once released; a change is a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


VERSION_TABLE = """CREATE TABLE IF NOT EXISTS teal_schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, steps, events, materializations and check results",
        (
            """CREATE TABLE runs (
                run_id TEXT PRIMARY KEY,
                command TEXT NOT NULL,
                status TEXT NOT NULL,
                run_trigger TEXT NOT NULL,
                selection TEXT,
                exclusion TEXT,
                partition_keys TEXT,
                run_config TEXT,
                parent_run_id TEXT,
                project TEXT,
                teal_version TEXT,
                host TEXT,
                pid INTEGER,
                created_at TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT,
                message TEXT
            )""",
            "CREATE INDEX runs_by_created ON runs (created_at)",
            "CREATE INDEX runs_by_status ON runs (status, created_at)",
            """CREATE TABLE steps (
                run_id TEXT NOT NULL,
                model TEXT NOT NULL,
                partition_key TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                status TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT,
                row_count BIGINT,
                message TEXT,
                PRIMARY KEY (run_id, model, partition_key, attempt)
            )""",
            "CREATE INDEX steps_by_model ON steps (model, run_id)",
            """CREATE TABLE events (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                model TEXT,
                partition_key TEXT,
                level TEXT,
                message TEXT,
                data TEXT,
                PRIMARY KEY (run_id, seq)
            )""",
            """CREATE TABLE materializations (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                model TEXT NOT NULL,
                partition_key TEXT NOT NULL,
                at TEXT NOT NULL,
                row_count BIGINT,
                output_schema TEXT,
                code_version TEXT,
                metadata TEXT,
                PRIMARY KEY (run_id, seq)
            )""",
            "CREATE INDEX materializations_by_model ON materializations (model, at)",
            """CREATE TABLE check_results (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                check_name TEXT NOT NULL,
                model TEXT NOT NULL,
                partition_key TEXT NOT NULL,
                at TEXT NOT NULL,
                status TEXT NOT NULL,
                severity TEXT,
                failing_rows BIGINT,
                message TEXT,
                PRIMARY KEY (run_id, seq)
            )""",
            "CREATE INDEX check_results_by_model ON check_results (model, at)",
        ),
    ),
    Migration(
        2,
        "the daemon's ticks and cursors (schedules and sensors)",
        (
            # one row per evaluated tick; its queued run is inserted in the same transaction,
            # so a daemon killed at any point neither loses nor repeats a tick
            """CREATE TABLE ticks (
                source TEXT NOT NULL,
                tick_at TEXT NOT NULL,
                status TEXT NOT NULL,
                run_id TEXT,
                run_key TEXT,
                message TEXT,
                created_at TEXT NOT NULL,
                PRIMARY KEY (source, tick_at)
            )""",
            "CREATE UNIQUE INDEX ticks_by_run_key ON ticks (source, run_key)",
            "CREATE INDEX ticks_by_created ON ticks (created_at)",
            """CREATE TABLE cursors (
                source TEXT PRIMARY KEY,
                cursor TEXT,
                updated_at TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        3,
        "ticks by status and age, for the daemon's tick retention",
        # the daemon deletes a status's oldest ticks in small batches: the batch is read from
        # this index instead of scanning every tick (a minutely schedule records ~525k a year)
        ("CREATE INDEX ticks_by_status ON ticks (status, created_at)",),
    ),
    Migration(
        4,
        "which process runs a run, beyond its pid (a pid is taken again after a kill)",
        # runtime/runstore/liveness.py: the boot and start time of the process, so a run
        # whose pid another process took since (a restarted container's) is found crashed
        ("ALTER TABLE runs ADD COLUMN process TEXT",),
    ),
)

LATEST = MIGRATIONS[-1].version

# tables holding a run's rows, deleted with the run (children first)
RUN_TABLES = ("events", "steps", "materializations", "check_results")
