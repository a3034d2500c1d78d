"""DDL for each materialization of a whole relation, each in one transaction with its
state row: views, tables, tables written from Arrow, and incremental appends and upserts.

A table is replaced under its own name (``CREATE OR REPLACE TABLE``), audited by its checks
and given its state row, all before ``COMMIT``: DuckDB's DDL is transactional, so until the
commit everyone else reads the previous table, and a failure or a kill at any point before
it leaves the previous relation exactly as it was. Partitioned tables are in
``teal.warehouse.duckdb.partitions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.schema_change import aligned
from teal.warehouse.duckdb.sql import SQL, qualified, quote
from teal.warehouse.duckdb.transactions import (
    Check,
    build_row,
    existing,
    in_transaction,
    insert_by_name,
    now,
    stage_name,
)
from teal.warehouse.engine import BuildTarget, Built
from teal.warehouse.unique_keys import check_one_row_per_key

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


def create_view(
    cur: DuckDBPyConnection, target: BuildTarget, sql: str, audit: Check = None
) -> Built:
    """``CREATE OR REPLACE VIEW`` (replacing a table of the same name if there was one).

    ``audit(relation_sql)``, when given, checks the new relation before the commit and
    raises to keep the old one (write-audit-publish); every materialization takes it.
    """

    def body() -> None:
        if existing(cur, target) == "table":
            cur.execute(SQL.drop(qualified(target.schema, target.name)))
        cur.execute(SQL.create_as(qualified(target.schema, target.name), sql, kind="VIEW"))
        if audit is not None:
            audit(qualified(target.schema, target.name))
        return None

    return in_transaction(cur, target, body, kind="view")


def _replace_table(
    cur: DuckDBPyConnection, target: BuildTarget, select_sql: str, audit: Any
) -> int:
    """Replace the table in the open transaction, then audit it there.

    DuckDB's DDL is transactional: until the commit, every other connection and cursor
    still reads the old table, and a rollback (a failing check, an error, a kill) keeps it.
    So the new table is written under its own name, with no stage and no rename.
    """
    relation = qualified(target.schema, target.name)
    if existing(cur, target) == "view":
        cur.execute(SQL.drop(relation, "VIEW"))
    row = cur.execute(SQL.create_as(relation, select_sql)).fetchone()
    if row is None:  # a PIVOT, which DuckDB runs as several statements, gives no count
        row = cur.execute(SQL.count_rows(relation)).fetchone()
    if audit is not None:
        audit(relation)
    return int(row[0]) if row else 0


def build_table(
    cur: DuckDBPyConnection, target: BuildTarget, sql: str, audit: Check = None
) -> Built:
    """Build ``sql`` into the table, audit it, and publish it atomically (one transaction)."""
    return in_transaction(cur, target, lambda: _replace_table(cur, target, sql, audit))


def write_table(
    cur: DuckDBPyConnection, target: BuildTarget, data: Any, audit: Check = None
) -> Built:
    """Write an Arrow-compatible object (see warehouse.io.scannable) as the table, atomically."""

    def body() -> int:
        with registered(cur, data, target.model) as view:
            return _replace_table(cur, target, SQL.select_all(view), audit)

    return in_transaction(cur, target, body)


def record_failure(
    cur: DuckDBPyConnection, target: BuildTarget, started: datetime, message: str
) -> None:
    """Log a failed attempt (its own small transaction; the data was rolled back)."""
    build_row(cur, target, "error", None, started, now(), message=message[:2000])


def incremental_append(
    cur: DuckDBPyConnection, target: BuildTarget, sql: str, audit: Check = None
) -> Built:
    """Append the query's rows to the existing table (``incremental_strategy='append'``)."""

    def body() -> int:
        source = aligned(cur, target, f"(\n{sql}\n)")
        rows = insert_by_name(cur, target, source)
        if audit is not None:
            audit(qualified(target.schema, target.name))
        return rows

    return in_transaction(cur, target, body)


def incremental_upsert(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    sql: str,
    unique_key: Sequence[str],
    audit: Check = None,
    predicates: Sequence[str] = (),
    one_row_per_key: bool = False,
) -> Built:
    """Replace rows whose ``unique_key`` matches, insert the rest (merge / delete+insert);
    ``predicates`` (dbt's incremental_predicates) limit which existing rows are replaced;
    ``one_row_per_key`` (a merge): new rows repeating a key are an error."""
    stage = stage_name(target.model)
    keys = [quote(k) for k in unique_key]

    def body() -> int:
        cur.execute(SQL.create_as(stage, sql, kind="TEMP TABLE"))
        if one_row_per_key:
            check_one_row_per_key(
                lambda q: cur.execute(q).fetchone(), stage, unique_key, quote, target.model
            )
        source = aligned(cur, target, stage)
        # the keys as they are inserted: cast to the table's types when its policy keeps them
        cur.execute(
            SQL.delete_matching(qualified(target.schema, target.name), keys, source, predicates)
        )
        rows = insert_by_name(cur, target, source)
        cur.execute(SQL.drop(stage))
        if audit is not None:
            audit(qualified(target.schema, target.name))
        return rows

    return in_transaction(cur, target, body)


def record_step(cur: DuckDBPyConnection, target: BuildTarget, started: datetime, rows: int) -> None:
    """The model-level build row for a step made of partition transactions."""
    build_row(cur, target, "success", rows, started, now())
