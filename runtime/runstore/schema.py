"""The run store's one schema, as numbered migrations applied in order on open.

The statements are plain SQL that SQLite and Postgres both run: text, integers and
floating point only, times as ISO-8601 text in UTC (sortable, and read back the same from
both backends). A migration is never edited once released; a change is a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teal.runtime.runstore.run_tags import backfill as backfill_job_and_tags


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    # rows for what was recorded before, that plain SQL cannot derive on both backends
    # (parsing a run's JSON config), called with the store and the migration's cursor
    backfill: Callable[[Any, Any], None] | None = None


VERSION_TABLE = """CREATE TABLE IF NOT EXISTS teal_schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""

# migration 5's pieces: the ticks table with its project, a run that names a project, the
# projects the store's runs name, and a tick traced to its run's project
TICK_COLUMNS = """project TEXT NOT NULL,
                source TEXT NOT NULL,
                tick_at TEXT NOT NULL,
                status TEXT NOT NULL,
                run_id TEXT,
                run_key TEXT,
                message TEXT,
                created_at TEXT NOT NULL"""
NAMED = "{0}.project IS NOT NULL AND {0}.project <> ''"
PROJECTS = f"SELECT DISTINCT n.project FROM runs n WHERE {NAMED.format('n')}"
TRACED = f"SELECT 1 FROM runs r WHERE r.run_id = t.run_id AND {NAMED.format('r')}"

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
    Migration(
        5,
        "ticks and cursors per project (projects sharing a store keep their own)",
        # runtime/runstore/scope.py: a row goes to the project it can be traced to. A tick
        # that queued a run goes to that run's project; every other tick and cursor is
        # copied to each project the store's runs name (one project: its own; projects
        # that shared the store before: each goes on from the state they shared). A store
        # with no runs keeps them unowned (project ''), for the first daemon to adopt
        (
            f"CREATE TABLE ticks_by_project ({TICK_COLUMNS}, "
            "PRIMARY KEY (project, source, tick_at))",
            "INSERT INTO ticks_by_project SELECT r.project, t.source, t.tick_at, t.status, "
            "t.run_id, t.run_key, t.message, t.created_at FROM ticks t "
            f"JOIN runs r ON r.run_id = t.run_id AND {NAMED.format('r')}",
            "INSERT INTO ticks_by_project SELECT p.project, t.source, t.tick_at, t.status, "
            f"t.run_id, t.run_key, t.message, t.created_at FROM ticks t CROSS JOIN ({PROJECTS}) p "
            f"WHERE NOT EXISTS ({TRACED})",
            "INSERT INTO ticks_by_project SELECT '', t.source, t.tick_at, t.status, "
            "t.run_id, t.run_key, t.message, t.created_at FROM ticks t "
            f"WHERE NOT EXISTS ({TRACED}) AND NOT EXISTS ({PROJECTS})",
            "DROP TABLE ticks",
            "ALTER TABLE ticks_by_project RENAME TO ticks",
            "CREATE UNIQUE INDEX ticks_by_run_key ON ticks (project, source, run_key)",
            "CREATE INDEX ticks_by_created ON ticks (created_at)",
            "CREATE INDEX ticks_by_status ON ticks (project, status, created_at)",
            """CREATE TABLE cursors_by_project (
                project TEXT NOT NULL,
                source TEXT NOT NULL,
                cursor TEXT,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (project, source)
            )""",
            "INSERT INTO cursors_by_project SELECT p.project, c.source, c.cursor, "
            f"c.updated_at FROM cursors c CROSS JOIN ({PROJECTS}) p",
            "INSERT INTO cursors_by_project SELECT '', c.source, c.cursor, c.updated_at "
            f"FROM cursors c WHERE NOT EXISTS ({PROJECTS})",
            "DROP TABLE cursors",
            "ALTER TABLE cursors_by_project RENAME TO cursors",
            # the queue a daemon takes its project's runs from, and its project's listings
            "CREATE INDEX runs_by_project ON runs (project, status, created_at)",
        ),
    ),
    Migration(
        6,
        "a run's heartbeat, so that another host sees when a run's machine is gone",
        # runtime/runstore/heartbeat.py: a run in progress writes it every 30 s; a run of
        # another host silent for 5 minutes is marked crashed (its pid cannot be checked)
        ("ALTER TABLE runs ADD COLUMN heartbeat_at TEXT",),
    ),
    Migration(
        7,
        "a run's job and tags, to list the runs of a job or with a tag",
        # runtime/runstore/run_tags.py: the job a column, each tag a row, both written with
        # the run; the runs recorded before get theirs from their config
        (
            "ALTER TABLE runs ADD COLUMN job TEXT",
            "CREATE INDEX runs_by_job ON runs (project, job, created_at)",
            """CREATE TABLE run_tags (
                run_id TEXT NOT NULL,
                tag_key TEXT NOT NULL,
                tag_value TEXT NOT NULL,
                PRIMARY KEY (run_id, tag_key, tag_value)
            )""",
            "CREATE INDEX run_tags_by_tag ON run_tags (tag_key, tag_value)",
        ),
        backfill=backfill_job_and_tags,
    ),
)

LATEST = MIGRATIONS[-1].version

# tables holding a run's rows, deleted with the run (children first)
RUN_TABLES = ("events", "steps", "materializations", "check_results", "run_tags")
