"""Views, tables, Arrow writes and incremental appends and upserts on Spark.

Spark's Parquet tables have no transactions, so each materialization writes its rows to a
stage table first (``<name>__teal_new``), audits them there, and only then swaps the stage
in: the old table is dropped and the stage renamed (two catalog operations; between them
the relation is briefly missing, and a crash there leaves it missing, which the next build
rebuilds since the state row is written last). A failure before the swap, a failing audit
included, leaves the old relation as it was. Upserts rewrite the table (old rows without
the new keys, plus the new rows): Parquet has no MERGE (Delta and Iceberg do).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.engine import BuildTarget, Built
from teal.warehouse.spark import io, layout, state
from teal.warehouse.spark.schema_change import align
from teal.warehouse.spark.session import quote
from teal.warehouse.unique_keys import check_one_row_per_key

if TYPE_CHECKING:
    from teal.warehouse.spark.session import SparkSQL

NEW_SUFFIX = "__teal_new"
STAGE_SUFFIX = "__teal_stage"
Check = Callable[[str], None] | None  # audit(relation as DuckDB SQL), bound to a cursor


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def duck_relation(schema: str, name: str) -> str:
    """How the cursor's callers (DuckDB SQL) name a relation."""
    return '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'


def kind_of(sql: SparkSQL, schema: str, name: str) -> str | None:
    """``"table"``, ``"view"`` or None: what is at ``schema.name`` now (a view over a
    partitioned model's data table is the model's table: teal.warehouse.spark.layout)."""
    if not sql.session.catalog.databaseExists(schema):
        return None
    bare = name.replace("`", "").lower()
    found = None
    has_data = False
    for table in sql.session.catalog.listTables(schema, f"{bare}|{bare}{layout.INFIX}*"):
        if table.isTemporary:
            continue
        if table.name.lower() == bare:
            found = "view" if str(table.tableType).upper() == "VIEW" else "table"
        elif layout.DATA_NAME.match(table.name):
            has_data = True
    return "table" if found == "view" and has_data else found


def existing(sql: SparkSQL, target: BuildTarget) -> str | None:
    if target.catalog is not None:
        return target.catalog.kind(target.schema, target.name)
    return kind_of(sql, target.schema, target.name)


def drop(sql: SparkSQL, schema: str, name: str, kind: str | None) -> None:
    """Drop what is at ``schema.name`` (``kind``: what it is); a partitioned model's view
    with its data tables."""
    if kind is None:
        return
    data = layout.data_tables(sql, schema, name)
    if kind == "view" or data:
        sql.run(f"DROP VIEW IF EXISTS {sql.relation(schema, name)}")
    else:
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(schema, name)}")
    for table in data:
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(schema, table)}")


def create_table(
    sql: SparkSQL, schema: str, name: str, spark_select: str, *, count: bool = True
) -> int:
    """``CREATE TABLE ... AS`` (replacing a leftover of a killed run); its row count
    (``count=False``: not counted, 0)."""
    relation = sql.relation(schema, name)
    sql.run(f"DROP TABLE IF EXISTS {relation}")
    sql.run(f"CREATE TABLE {relation} USING {sql.table_format} AS {spark_select}")
    sql.wrote = True
    return int(sql.rows(f"SELECT count(*) FROM {relation}")[0][0]) if count else 0


def swap_in(sql: SparkSQL, target: BuildTarget, staged: str) -> None:
    """Replace the target's relation by the staged table ``staged``."""
    drop(sql, target.schema, target.name, existing(sql, target))
    layout.forget(target)
    sql.run(
        f"ALTER TABLE {sql.relation(target.schema, staged)} RENAME TO "
        f"{sql.relation(target.schema, target.name)}"
    )


def record_build(
    sql: SparkSQL, target: BuildTarget, rows: int | None, started: datetime
) -> datetime:
    finished = now()
    state.record_build(
        sql,
        run_id=target.run_id,
        model=target.model,
        relation=target.relation,
        materialization=target.materialization,
        sql_hash=target.sql_hash,
        status="success",
        rows=rows,
        started_at=started,
        finished_at=finished,
        data_version=target.data_version,
    )
    return finished


def create_view(sql: SparkSQL, target: BuildTarget, select: str, audit: Check) -> Built:
    """A view, audited under a stage name first, then put in place."""
    started = now()
    spark_select = sql.spark(select)
    relation = sql.relation(target.schema, target.name)
    if audit is not None:
        stage = sql.relation(target.schema, target.name + NEW_SUFFIX)
        sql.run(f"CREATE OR REPLACE VIEW {stage} AS {spark_select}")
        try:
            audit(duck_relation(target.schema, target.name + NEW_SUFFIX))
        finally:
            sql.run(f"DROP VIEW IF EXISTS {stage}")
    else:  # binding the query fails before the old relation is touched
        sql.run(f"EXPLAIN {spark_select}")
    if existing(sql, target) == "table":  # a partitioned model's view too, with its data
        drop(sql, target.schema, target.name, "table")
        layout.forget(target)
    sql.run(f"CREATE OR REPLACE VIEW {relation} AS {spark_select}")
    sql.wrote = True
    finished = record_build(sql, target, None, started)
    target.committed("view")
    return Built(rows=None, started_at=started, finished_at=finished)


def _publish(
    sql: SparkSQL, target: BuildTarget, rows: int, started: datetime, audit: Check
) -> Built:
    """Audit the staged table, swap it in, record the build."""
    if audit is not None:
        audit(duck_relation(target.schema, target.name + NEW_SUFFIX))
    swap_in(sql, target, target.name + NEW_SUFFIX)
    finished = record_build(sql, target, rows, started)
    target.committed("table")
    return Built(rows=rows, started_at=started, finished_at=finished)


def build_table(sql: SparkSQL, target: BuildTarget, select: str, audit: Check) -> Built:
    started = now()
    staged = target.name + NEW_SUFFIX
    try:
        rows = create_table(sql, target.schema, staged, sql.spark(select))
        return _publish(sql, target, rows, started, audit)
    finally:
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, staged)}")


def write_table(sql: SparkSQL, target: BuildTarget, data: Any, audit: Check) -> Built:
    started = now()
    staged = target.name + NEW_SUFFIX
    try:
        with io.staged(sql, data) as source:
            rows = create_table(sql, target.schema, staged, f"SELECT * FROM {source}")
        return _publish(sql, target, rows, started, audit)
    finally:
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, staged)}")


def columns(sql: SparkSQL, spark_source: str) -> list[str]:
    """The columns of a Spark query or relation (analysed, not run)."""
    return list(sql.run(f"SELECT * FROM {spark_source}").columns)


def incremental_append(sql: SparkSQL, target: BuildTarget, select: str, audit: Check) -> Built:
    """Append the query's rows (staged, its columns aligned with the table's under
    ``on_schema_change``, audited, then inserted)."""
    started = now()
    stage = target.name + STAGE_SUFFIX
    stage_rel = sql.relation(target.schema, stage)
    try:
        rows = create_table(sql, target.schema, stage, sql.spark(select))
        aligned = align(sql, target, stage_rel)
        relation = sql.relation(target.schema, target.name)
        if audit is not None:  # the table as it will be, before the new rows are added
            _audit_rows(
                sql,
                audit,
                f"SELECT {aligned.from_table()} FROM {relation} "
                f"UNION ALL SELECT {aligned.from_stage()} FROM {stage_rel}",
            )
        if aligned.dropped or layout.data_table(sql, target, "table") is not None:
            # a column to drop (Parquet tables cannot), or a partitioned model's view (the
            # model is no longer partitioned): rewritten as a plain table of its rows and
            # the new ones
            create_table(
                sql,
                target.schema,
                target.name + NEW_SUFFIX,
                f"SELECT {aligned.from_table()} FROM {relation} "
                f"UNION ALL SELECT {aligned.from_stage()} FROM {stage_rel}",
                count=False,
            )
            swap_in(sql, target, target.name + NEW_SUFFIX)
        else:
            aligned.add_columns(sql, relation)
            listed = ", ".join(quote(c) for c in aligned.columns)
            sql.run(
                f"INSERT INTO {relation} ({listed}) SELECT {aligned.from_stage()} FROM {stage_rel}"
            )
    finally:
        sql.run(f"DROP TABLE IF EXISTS {stage_rel}")
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, target.name + NEW_SUFFIX)}")
    finished = record_build(sql, target, rows, started)
    target.committed("table")
    return Built(rows=rows, started_at=started, finished_at=finished)


def _audit_rows(sql: SparkSQL, audit: Callable[[str], None], spark_query: str) -> None:
    """Audit the rows of ``spark_query`` as one relation. An append audits the table's
    rows with the staged new ones, so a check sees the table as the append will leave it
    (a ``unique`` key repeated across old and new rows fails), as on DuckDB, where the
    audit reads the table after the insert inside the step's transaction. The relation
    is a global temporary view (Spark's ``global_temp`` database): a killed run leaves
    nothing behind in the catalog."""
    name = f"__teal_audit_{uuid.uuid4().hex[:12]}"
    views = str(sql.session.conf.get("spark.sql.globalTempDatabase", "global_temp"))
    sql.run(f"CREATE OR REPLACE GLOBAL TEMPORARY VIEW {quote(name)} AS {spark_query}")
    try:
        audit(duck_relation(views, name))
    finally:
        sql.run(f"DROP VIEW IF EXISTS {quote(views)}.{quote(name)}")


def incremental_upsert(
    sql: SparkSQL,
    target: BuildTarget,
    select: str,
    unique_key: Sequence[str],
    audit: Check,
    predicates: Sequence[str] = (),
    one_row_per_key: bool = False,
) -> Built:
    """Rows whose key matches replaced, the rest added: the table rewritten as its rows
    without the new keys plus the new rows (columns aligned under ``on_schema_change``),
    staged and swapped in; ``one_row_per_key`` (a merge): new rows repeating a key are an
    error."""
    started = now()
    stage = target.name + STAGE_SUFFIX
    stage_rel = sql.relation(target.schema, stage)
    staged = target.name + NEW_SUFFIX
    try:
        rows = create_table(sql, target.schema, stage, sql.spark(select))
        if one_row_per_key:
            check_one_row_per_key(
                lambda q: next(iter(sql.rows(q)), None), stage_rel, unique_key, quote, target.model
            )
        aligned = align(sql, target, stage_rel)
        on = " AND ".join(
            f"DBT_INTERNAL_DEST.{quote(k)} = DBT_INTERNAL_SOURCE.{quote(k)}" for k in unique_key
        )
        for predicate in predicates:
            on += f" AND ({sql.predicate(predicate)})"
        create_table(
            sql,
            target.schema,
            staged,
            f"SELECT {aligned.from_table()} FROM {sql.relation(target.schema, target.name)} AS "
            f"DBT_INTERNAL_DEST LEFT ANTI JOIN {stage_rel} AS DBT_INTERNAL_SOURCE ON {on} "
            f"UNION ALL SELECT {aligned.from_stage()} FROM {stage_rel}",
            count=False,
        )
        return _publish(sql, target, rows, started, audit)
    finally:
        sql.run(f"DROP TABLE IF EXISTS {stage_rel}")
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, staged)}")


def record_failure(sql: SparkSQL, target: BuildTarget, started: datetime, message: str) -> None:
    _record(sql, target, started, "error", None, message=message[:2000])


def record_step(sql: SparkSQL, target: BuildTarget, started: datetime, rows: int) -> None:
    _record(sql, target, started, "success", rows)


def _record(
    sql: SparkSQL,
    target: BuildTarget,
    started: datetime,
    status: str,
    rows: int | None,
    **extra: str,
) -> None:
    state.record_build(
        sql,
        run_id=target.run_id,
        model=target.model,
        relation=target.relation,
        materialization=target.materialization,
        sql_hash=target.sql_hash,
        status=status,
        rows=rows,
        started_at=started,
        finished_at=now(),
        **extra,
    )
