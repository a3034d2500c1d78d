"""State tables in the warehouse's ``teal`` schema.

``teal.builds`` gets one row per model build attempt (parallel transactions only ever
insert, so they never conflict; old rows no plan reads are pruned after a build,
state_history.py). ``teal.model_state`` is the latest successful
build of each model. A successful build's row is inserted in the same transaction as the
data it describes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb.sql import SQL
from teal.warehouse.state_rows import added_times, latest_check_results_sql, latest_partitions

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

SCHEMA = "teal"
BUILDS = "builds"  # the table of build rows (a group keeps its rows under this name)

_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.builds (
        run_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        relation VARCHAR,
        materialization VARCHAR,
        sql_hash VARCHAR,
        status VARCHAR NOT NULL,
        rows BIGINT,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        duration_ms DOUBLE,
        message VARCHAR,
        data_version VARCHAR
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
        run_id VARCHAR PRIMARY KEY,
        command VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR,
        selected INTEGER,
        succeeded INTEGER,
        failed INTEGER,
        skipped INTEGER,
        skipped_models VARCHAR[]
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.partitions (
        run_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        partition_key VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        rows BIGINT,
        sql_hash VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        duration_ms DOUBLE,
        message VARCHAR,
        data_version VARCHAR
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.check_results (
        run_id VARCHAR NOT NULL,
        check_name VARCHAR NOT NULL,
        asset VARCHAR NOT NULL,
        partition_key VARCHAR,
        kind VARCHAR,
        severity VARCHAR,
        status VARCHAR NOT NULL,
        failing_rows BIGINT,
        sample VARCHAR,
        sql VARCHAR,
        duration_ms DOUBLE,
        checked_at TIMESTAMP,
        message VARCHAR
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.dynamic_partitions (
        name VARCHAR NOT NULL,
        partition_key VARCHAR NOT NULL,
        added_at TIMESTAMP NOT NULL,
        PRIMARY KEY (name, partition_key)
    )""",
    # external materializations: one row per publication of files (or of one partition's
    # folder), in the transaction that swapped them in; its token names the publication
    # in the journal (teal.warehouse.files), so recovery knows whether it committed
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.external (
        run_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        partition_key VARCHAR,
        location VARCHAR NOT NULL,
        format VARCHAR,
        rows BIGINT,
        token VARCHAR NOT NULL,
        published_at TIMESTAMP
    )""",
    f"""CREATE OR REPLACE VIEW {SCHEMA}.partition_state AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (
                PARTITION BY model, partition_key ORDER BY finished_at DESC) AS rn
            FROM {SCHEMA}.partitions
        ) WHERE rn = 1""",
    f"""CREATE OR REPLACE VIEW {SCHEMA}.model_state AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY model ORDER BY finished_at DESC) AS rn
            FROM {SCHEMA}.builds WHERE status = 'success'
        ) WHERE rn = 1""",
]

BUILD_COLUMNS = (
    "run_id",
    "model",
    "relation",
    "materialization",
    "sql_hash",
    "status",
    "rows",
    "started_at",
    "finished_at",
    "duration_ms",
    "message",
    "data_version",
)
PARTITION_COLUMNS = (
    "run_id",
    "model",
    "partition_key",
    "status",
    "rows",
    "sql_hash",
    "started_at",
    "finished_at",
    "duration_ms",
    "message",
    "data_version",
)
RUN_COLUMNS = (
    "run_id",
    "command",
    "started_at",
    "finished_at",
    "status",
    "selected",
    "succeeded",
    "failed",
    "skipped",
    "skipped_models",
)
INSERT_BUILD = SQL.insert_values(f"{SCHEMA}.builds", BUILD_COLUMNS)


def ensure(conn: DuckDBPyConnection) -> None:
    """Create the state schema and tables if they are missing, and add the columns a
    warehouse written by an older teal lacks."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        f"and table_schema = '{SCHEMA}' and table_name in ('builds', 'runs', 'model_state', "
        "'partitions', 'partition_state', 'check_results', 'dynamic_partitions', 'external')"
    ).fetchall()[0][0]
    if exists == 8 and _has_column(conn, "partitions", "data_version"):
        return
    conn.execute("BEGIN")  # one commit, not one per statement: half the time on a new file
    try:
        for ddl in _DDL:
            conn.execute(ddl)
        for table in ("builds", "partitions"):  # data versions (compiler/versions.py)
            conn.execute(
                f"ALTER TABLE {SCHEMA}.{table} ADD COLUMN IF NOT EXISTS data_version VARCHAR"
            )
        for ddl in _DDL:  # the views again, so that they show the added columns
            if ddl.startswith("CREATE OR REPLACE VIEW"):
                conn.execute(ddl)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def record_build(cur: DuckDBPyConnection, values: Sequence[object]) -> None:
    """Insert one ``teal.builds`` row (``build_values``)."""
    cur.execute(INSERT_BUILD, values)


def record_builds(cur: DuckDBPyConnection, rows: Sequence[Sequence[object]]) -> None:
    """Insert ``teal.builds`` rows, all in one statement."""
    cur.execute(
        SQL.insert_values(f"{SCHEMA}.builds", BUILD_COLUMNS, len(rows)),
        [v for row in rows for v in row],
    )


def build_values(
    *,
    run_id: str,
    model: str,
    relation: str | None,
    materialization: str,
    sql_hash: str,
    status: str,
    rows: int | None,
    started_at: datetime,
    finished_at: datetime,
    message: str | None = None,
    data_version: str | None = None,
) -> list[object]:
    """A ``teal.builds`` row, in ``BUILD_COLUMNS`` order."""
    duration_ms = (finished_at - started_at).total_seconds() * 1000.0
    return [
        run_id,
        model,
        relation,
        materialization,
        sql_hash,
        status,
        rows,
        started_at,
        finished_at,
        duration_ms,
        message,
        data_version or None,
    ]


EXTERNAL_COLUMNS = (
    "run_id",
    "model",
    "partition_key",
    "location",
    "format",
    "rows",
    "token",
    "published_at",
)


def record_external(
    cur: DuckDBPyConnection,
    *,
    run_id: str,
    model: str,
    rows: list[tuple[str | None, str, int]],
    file_format: str,
    token: str,
    published_at: datetime,
) -> None:
    """The files a publication put in place: (partition key or None, location, rows) each,
    in one statement."""
    if not rows:
        return
    cur.execute(
        SQL.insert_values(f"{SCHEMA}.external", EXTERNAL_COLUMNS, rows=len(rows)),
        [
            value
            for key, location, n in rows
            for value in (run_id, model, key, location, file_format, n, token, published_at)
        ],
    )


INSERT_PARTITION = SQL.insert_values(f"{SCHEMA}.partitions", PARTITION_COLUMNS)
_PARTITION_ROW = INSERT_PARTITION.split(" VALUES ")[0]


def record_partition(
    cur: DuckDBPyConnection,
    *,
    run_id: str,
    model: str,
    key: str,
    status: str,
    rows: int | None,
    sql_hash: str,
    started_at: datetime,
    finished_at: datetime,
    message: str | None = None,
    data_version: str | None = None,
) -> None:
    duration_ms = (finished_at - started_at).total_seconds() * 1000.0
    cur.execute(
        INSERT_PARTITION,
        [
            run_id,
            model,
            key,
            status,
            rows,
            sql_hash,
            started_at,
            finished_at,
            duration_ms,
            message,
            data_version or None,
        ],
    )


def standing_version(cur: DuckDBPyConnection, model: str, key: str) -> str | None:
    """The data version of partition ``key`` of ``model`` as its rows stand: that of its
    latest record (a failed attempt, rolled back, records the version of the rows it left
    in place), None when it has none."""
    row = cur.execute(
        f"SELECT data_version FROM {SCHEMA}.partitions WHERE model = ? AND partition_key = ? "
        "ORDER BY finished_at DESC LIMIT 1",
        [model, key],
    ).fetchone()
    return str(row[0]) if row and row[0] else None


def record_partitions(
    cur: DuckDBPyConnection,
    *,
    run_id: str,
    model: str,
    counts: list[tuple[str, int]],
    sql_hash: str,
    started_at: datetime,
    finished_at: datetime,
    duration_ms: float,
    versions: Mapping[str, str],
) -> None:
    """One successful row per (key, rows) of ``counts``, in one statement (``executemany``
    runs one statement per row: 0.16 s for 365 partitions, against 1 ms for this);
    ``versions`` holds each key's data version."""
    cur.execute(
        f"{_PARTITION_ROW} SELECT ?, ?, k, 'success', n, ?, ?, ?, ?, NULL, v "
        "FROM (SELECT unnest(?) AS k, unnest(?) AS n, unnest(?) AS v)",
        [
            run_id,
            model,
            sql_hash,
            started_at,
            finished_at,
            duration_ms,
            [k for k, _ in counts],
            [int(n) for _, n in counts],
            [versions.get(k) or None for k, _ in counts],
        ],
    )


def partition_state(
    conn: DuckDBPyConnection, model: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> key -> latest record (status, rows, finished_at, ...) of each partition."""
    has = conn.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        f"and table_schema = '{SCHEMA}' and table_name = 'partition_state'"
    ).fetchall()[0][0]
    if not has:
        return {}
    version = "data_version" if _has_column(conn, "partitions", "data_version") else "NULL"
    sql = (
        f"SELECT model, partition_key, status, rows, sql_hash, finished_at, duration_ms, "
        f"message, run_id, {version} FROM {SCHEMA}.partition_state"
    )
    params: list[Any] = []
    if model is not None:
        sql += " WHERE model = ?"
        params.append(model)
    return latest_partitions(conn.execute(sql, params).fetchall())


def partition_records(conn: DuckDBPyConnection) -> dict[str, Any]:
    """model -> its partitions' latest rows, as ``PartitionRecords`` (the planner's compact
    form: see compiler/partition_records.py), read in one query."""
    from teal.compiler.partition_records import PartitionRecords

    has = conn.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        f"and table_schema = '{SCHEMA}' and table_name = 'partition_state'"
    ).fetchall()[0][0]
    if not has:
        return {}
    version = "data_version" if _has_column(conn, "partitions", "data_version") else "NULL"
    rows = conn.execute(
        f"SELECT model, partition_key, status, rows, sql_hash, finished_at, duration_ms, "
        f"message, run_id, {version} FROM {SCHEMA}.partition_state ORDER BY model"
    ).fetchall()
    shared: dict[Any, Any] = {}  # equal strings as one object, across models
    without_model = itemgetter(slice(1, None))
    return {
        model: PartitionRecords.from_rows(map(without_model, group), shared)
        for model, group in groupby(rows, key=itemgetter(0))
    }


def record_run(
    conn: DuckDBPyConnection,
    *,
    run_id: str,
    command: str,
    started_at: datetime,
    finished_at: datetime,
    status: str,
    selected: int,
    succeeded: int,
    failed: int,
    skipped: list[str],
) -> None:
    conn.execute(
        SQL.insert_values(f"{SCHEMA}.runs", RUN_COLUMNS, replace=True),
        [
            run_id,
            command,
            started_at,
            finished_at,
            status,
            selected,
            succeeded,
            failed,
            len(skipped),
            skipped,
        ],
    )


def model_state(conn: DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The latest successful build per model."""
    cur = conn.execute(f"SELECT * FROM {SCHEMA}.model_state")
    cols = [d[0] for d in cur.description]
    return {row[1]: dict(zip(cols, row)) for row in cur.fetchall()}


def plan_state(conn: DuckDBPyConnection, list_relations: bool = True) -> Any:
    """What the planner needs from earlier runs, as a ``compiler.plan.PlanState``;
    ``list_relations``: also which relations exist (a scan of the whole catalog)."""
    from teal.compiler.plan import ModelState, PlanState

    has_state = _has_table(conn, "builds")
    relations = (
        frozenset(
            f"{schema}.{name}".lower()
            for schema, name in conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        )
        if list_relations
        else None
    )
    if not has_state:
        return PlanState(relations=relations)
    version = "data_version" if _has_column(conn, "builds", "data_version") else "NULL"
    models = {
        model: ModelState(
            sql_hash=sql_hash or "",
            finished_at=finished_at,
            duration_ms=float(duration_ms or 0.0),
            data_version=data_version,
            relation=relation,
        )
        for model, sql_hash, finished_at, duration_ms, data_version, relation in conn.execute(
            f"SELECT model, sql_hash, finished_at, duration_ms, {version}, relation "
            f"FROM {SCHEMA}.model_state"
        ).fetchall()
    }
    last_results = dict(
        conn.execute(
            f"""SELECT model, status FROM (
                SELECT model, status, row_number() OVER (
                    PARTITION BY model ORDER BY finished_at DESC) AS rn
                FROM {SCHEMA}.builds) WHERE rn = 1"""
        ).fetchall()
    )
    skipped_last = (
        conn.execute(
            f"SELECT skipped_models FROM {SCHEMA}.runs ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
        if _has_column(conn, "runs", "skipped_models")
        else None
    )
    for name in (skipped_last[0] or []) if skipped_last else []:
        last_results[name] = "skipped"
    partitions = partition_records(conn)
    return PlanState(
        models=models,
        last_results=last_results,
        relations=relations,
        partitions=partitions,
        failed_checks=failed_checks(conn, partitions),
        dynamic_partitions=dynamic_partitions(conn),
    )


def dynamic_partitions(conn: DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """Each dynamic partition set's keys, in the order they were added."""
    if not _has_table(conn, "dynamic_partitions"):
        return {}
    out: dict[str, list[str]] = {}
    for name, key in conn.execute(
        f"SELECT name, partition_key FROM {SCHEMA}.dynamic_partitions "
        "ORDER BY name, added_at, partition_key"
    ).fetchall():
        out.setdefault(name, []).append(key)
    return {name: tuple(keys) for name, keys in out.items()}


def change_dynamic_partitions(
    conn: DuckDBPyConnection, name: str, add: list[str], remove: list[str], at: datetime
) -> tuple[list[str], list[str]]:
    """Add and remove keys of dynamic set ``name`` in one transaction; (added, removed): the
    keys that were not there, and those that were."""
    have = set(dynamic_partitions(conn).get(name, ()))
    added = [k for k in dict.fromkeys(add) if k not in have]
    removed = [k for k in dict.fromkeys(remove) if k in have]
    conn.execute("BEGIN TRANSACTION")
    try:
        latest = _latest_added(conn, name)
        for key, key_at in zip(added, added_times(len(added), at, latest), strict=True):
            conn.execute(
                f"INSERT INTO {SCHEMA}.dynamic_partitions VALUES (?, ?, ?)", [name, key, key_at]
            )
        for key in removed:
            conn.execute(
                f"DELETE FROM {SCHEMA}.dynamic_partitions WHERE name = ? AND partition_key = ?",
                [name, key],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added, removed


def _latest_added(conn: DuckDBPyConnection, name: str) -> datetime | None:
    """When the latest key of dynamic set ``name`` was added (None: it has none)."""
    row = conn.execute(
        f"SELECT max(added_at) FROM {SCHEMA}.dynamic_partitions WHERE name = ?", [name]
    ).fetchone()
    return None if row is None else row[0]


def _has_table(conn: DuckDBPyConnection, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_catalog = "
            "current_database() and table_schema = ? and table_name = ?",
            [SCHEMA, table],
        ).fetchall()[0][0]
    )


def failed_checks(
    conn: DuckDBPyConnection, partitions: Mapping[str, Collection[str]]
) -> dict[str, Any]:
    """model -> the error-severity checks whose failure on it (or on one of its
    ``partitions``) still stands, as ``compiler.plan.FailedCheck`` records
    (compiler/check_failures.py)."""
    from teal.compiler.check_failures import standing_failures

    return standing_failures(conn.execute(latest_check_results_sql(SCHEMA)).fetchall(), partitions)


def _has_column(conn: DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.columns where table_catalog = current_database() "
            "and table_schema = ? and table_name = ? and column_name = ?",
            [SCHEMA, table, column],
        ).fetchall()[0][0]
    )
