"""State tables in the Spark catalog's ``teal`` database, as the DuckDB engine keeps them.

Spark's Parquet tables have no transactions, so a step's state row is written after its
data, never before: a crash in between leaves new data with the old state, and the next
run (seeing an older state, or a relation it did not record) builds the step again, so a
rerun converges. Rows are appended (one small file per statement); the latest row of a
model or partition wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.spark.session import literal
from teal.warehouse.state_rows import added_times, latest_check_results_sql, latest_partitions

if TYPE_CHECKING:
    from teal.compiler.plan import PlanState
    from teal.warehouse.spark.session import SparkSQL

SCHEMA = "teal"

TABLES = {
    "builds": "run_id STRING, model STRING, relation STRING, materialization STRING, "
    "sql_hash STRING, status STRING, rows BIGINT, started_at TIMESTAMP, "
    "finished_at TIMESTAMP, duration_ms DOUBLE, message STRING, data_version STRING",
    "partitions": "run_id STRING, model STRING, partition_key STRING, status STRING, "
    "rows BIGINT, sql_hash STRING, started_at TIMESTAMP, finished_at TIMESTAMP, "
    "duration_ms DOUBLE, message STRING, data_version STRING",
    "runs": "run_id STRING, command STRING, started_at TIMESTAMP, finished_at TIMESTAMP, "
    "status STRING, selected INT, succeeded INT, failed INT, skipped INT, "
    "skipped_models ARRAY<STRING>",
    "check_results": "run_id STRING, check_name STRING, asset STRING, partition_key STRING, "
    "kind STRING, severity STRING, status STRING, failing_rows BIGINT, sample STRING, "
    "sql STRING, duration_ms DOUBLE, checked_at TIMESTAMP, message STRING",
    "dynamic_partitions": "name STRING, partition_key STRING, added_at TIMESTAMP",
}


def ensure(sql: SparkSQL) -> None:
    """Create the state database and tables when missing."""
    sql.ensure_database(SCHEMA)
    have = {r[1].lower() for r in sql.rows(f"SHOW TABLES IN {SCHEMA}")}
    for table, columns in TABLES.items():
        if table not in have:
            sql.run(f"CREATE TABLE {SCHEMA}.{table} ({columns}) USING parquet")


def _value(value: object) -> str:
    if isinstance(value, datetime):
        return f"TIMESTAMP {literal(value.replace(tzinfo=None).isoformat(sep=' '))}"
    if isinstance(value, (list, tuple)):
        return "array(" + ", ".join(literal(v) for v in value) + ")"
    return literal(value)


def insert(sql: SparkSQL, table: str, rows: Sequence[Sequence[object]]) -> None:
    """Append ``rows`` (in the table's column order) in one statement."""
    if not rows:
        return
    columns = [c.split()[0] for c in TABLES[table].split(", ")]
    typed = [c.split(" ", 1)[1] for c in TABLES[table].split(", ")]
    values = ", ".join(
        "(" + ", ".join(_cast(_value(v), t) for v, t in zip(row, typed)) + ")" for row in rows
    )
    with sql.state_lock:
        sql.run(f"INSERT INTO {SCHEMA}.{table} ({', '.join(columns)}) VALUES {values}")
    sql.wrote = True


def _cast(value: str, kind: str) -> str:
    """A NULL or number typed as its column (VALUES infers a type per column)."""
    if value == "NULL" or kind.startswith(("BIGINT", "INT", "DOUBLE")):
        return f"CAST({value} AS {kind})"
    return value


def record_build(sql: SparkSQL, **row: Any) -> None:
    started, finished = row["started_at"], row["finished_at"]
    insert(
        sql,
        "builds",
        [
            (
                row["run_id"],
                row["model"],
                row.get("relation"),
                row["materialization"],
                row["sql_hash"],
                row["status"],
                row.get("rows"),
                started,
                finished,
                (finished - started).total_seconds() * 1000.0,
                row.get("message"),
                row.get("data_version") or None,
            )
        ],
    )


def partition_rows(
    *,
    run_id: str,
    model: str,
    counts: Sequence[tuple[str, int | None]],
    status: str,
    sql_hash: str,
    started_at: datetime,
    finished_at: datetime,
    versions: Mapping[str, str],
    message: str | None = None,
) -> list[tuple[object, ...]]:
    ms = (finished_at - started_at).total_seconds() * 1000.0 / max(len(counts), 1)
    return [
        (
            run_id,
            model,
            key,
            status,
            n,
            sql_hash,
            started_at,
            finished_at,
            ms,
            message,
            versions.get(key) or None,
        )
        for key, n in counts
    ]


def standing_version(sql: SparkSQL, model: str, key: str) -> str | None:
    """The data version of partition ``key`` of ``model`` as its rows stand: that of its
    latest record (a failed attempt records the version of the rows it left in place)."""
    rows = sql.rows(
        f"SELECT data_version FROM {SCHEMA}.partitions WHERE model = {literal(model)} "
        f"AND partition_key = {literal(key)} ORDER BY finished_at DESC LIMIT 1"
    )
    return str(rows[0][0]) if rows and rows[0][0] else None


def partition_state(
    sql: SparkSQL, model: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> key -> latest record (status, rows, finished_at, ...) of each partition."""
    where = f"WHERE model = {literal(model)}" if model is not None else ""
    return latest_partitions(
        sql.rows(
            "SELECT model, partition_key, status, rows, sql_hash, finished_at, duration_ms, "
            "message, run_id, data_version FROM (SELECT *, row_number() OVER (PARTITION BY "
            f"model, partition_key ORDER BY finished_at DESC) AS rn FROM {SCHEMA}.partitions "
            f"{where}) WHERE rn = 1"
        )
    )


def plan_state(sql: SparkSQL, relations: frozenset[str] | None) -> PlanState:
    """What the planner needs from earlier runs, as a ``compiler.plan.PlanState``."""
    from teal.compiler.check_failures import standing_failures
    from teal.compiler.partition_records import partition_state as compact
    from teal.compiler.plan import ModelState, PlanState

    models = {
        r[0]: ModelState(
            sql_hash=r[1] or "",
            finished_at=r[2],
            duration_ms=float(r[3] or 0.0),
            data_version=r[4],
            relation=r[5],
        )
        for r in sql.rows(
            "SELECT model, sql_hash, finished_at, duration_ms, data_version, relation FROM (SELECT *, "
            "row_number() OVER (PARTITION BY model ORDER BY finished_at DESC) AS rn FROM "
            f"{SCHEMA}.builds WHERE status = 'success') WHERE rn = 1"
        )
    }
    last_results = {
        r[0]: r[1]
        for r in sql.rows(
            "SELECT model, status FROM (SELECT model, status, row_number() OVER (PARTITION BY "
            f"model ORDER BY finished_at DESC) AS rn FROM {SCHEMA}.builds) WHERE rn = 1"
        )
    }
    last_run = sql.rows(
        f"SELECT skipped_models FROM {SCHEMA}.runs ORDER BY finished_at DESC LIMIT 1"
    )
    for name in (last_run[0][0] or []) if last_run else []:
        last_results[name] = "skipped"
    partitions = compact(partition_state(sql))
    return PlanState(
        models=models,
        last_results=last_results,
        relations=relations,
        partitions=partitions,
        failed_checks=standing_failures(sql.rows(latest_check_results_sql(SCHEMA)), partitions),
        dynamic_partitions=dynamic_partitions(sql),
    )


def dynamic_partitions(sql: SparkSQL) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for name, key in sql.rows(
        f"SELECT name, partition_key FROM {SCHEMA}.dynamic_partitions "
        "ORDER BY name, added_at, partition_key"
    ):
        out.setdefault(name, []).append(key)
    return {name: tuple(keys) for name, keys in out.items()}


def change_dynamic_partitions(
    sql: SparkSQL, name: str, add: list[str], remove: list[str], at: datetime
) -> tuple[list[str], list[str]]:
    """Add and remove keys of dynamic set ``name``; (added, removed). The table is
    rewritten whole (it is small): Parquet tables have no DELETE."""
    have = set(dynamic_partitions(sql).get(name, ()))
    added = [k for k in dict.fromkeys(add) if k not in have]
    removed = [k for k in dict.fromkeys(remove) if k in have]
    if removed:
        kept = [
            (n, k, a)
            for n, k, a in sql.rows(f"SELECT * FROM {SCHEMA}.dynamic_partitions")
            if not (n == name and k in removed)
        ]
        sql.run(f"TRUNCATE TABLE {SCHEMA}.dynamic_partitions")
        insert(sql, "dynamic_partitions", kept)
    times = [a for n, _, a in sql.rows(f"SELECT * FROM {SCHEMA}.dynamic_partitions") if n == name]
    when = added_times(len(added), at, max(times, default=None))
    insert(sql, "dynamic_partitions", [(name, k, a) for k, a in zip(added, when, strict=True)])
    return added, removed
