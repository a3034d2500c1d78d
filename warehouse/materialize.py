"""DDL for each materialization, each done in one transaction with its state row.

A table is built as ``<name>__teal_new``, then the old relation is dropped and the new one
renamed into place, and the state row inserted, all before ``COMMIT``. A failure or a kill
at any point before the commit leaves the previous relation exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from warehouse import state
from warehouse.connection import qualified, quote

NEW_SUFFIX = "__teal_new"


@dataclass(frozen=True)
class Built:
    rows: int | None
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class BuildTarget:
    """What a materialization needs to know about the model it builds."""

    model: str
    schema: str
    name: str
    materialization: str
    sql_hash: str
    run_id: str


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _existing_kind(cur: Any, schema: str, name: str) -> str | None:
    row = cur.execute(
        "select table_type from information_schema.tables where table_catalog = current_database() "
        # DuckDB identifiers are case-insensitive: "Report" replaces an existing "report"
        "and lower(table_schema) = lower(?) and lower(table_name) = lower(?)",
        [schema, name]).fetchone()
    if row is None:
        return None
    return "view" if row[0] == "VIEW" else "table"


def _drop(cur: Any, schema: str, name: str) -> None:
    kind = _existing_kind(cur, schema, name)
    if kind == "view":
        cur.execute(f"DROP VIEW {qualified(schema, name)}")
    elif kind == "table":
        cur.execute(f"DROP TABLE {qualified(schema, name)}")


def _in_transaction(cur: Any, target: BuildTarget, body: Any) -> Built:
    started = _now()
    cur.execute("BEGIN TRANSACTION")
    try:
        rows = body()
        finished = _now()
        state.record_build(cur, run_id=target.run_id, model=target.model,
                           relation=f"{target.schema}.{target.name}",
                           materialization=target.materialization, sql_hash=target.sql_hash,
                           status="success", rows=rows, started_at=started, finished_at=finished)
        cur.execute("COMMIT")
    except BaseException:
        try:
            cur.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the transaction may already be aborted
            pass
        raise
    return Built(rows=rows, started_at=started, finished_at=finished)


def create_view(cur: Any, target: BuildTarget, sql: str) -> Built:
    """``CREATE OR REPLACE VIEW`` (replacing a table of the same name if there was one)."""

    def body() -> None:
        if _existing_kind(cur, target.schema, target.name) == "table":
            cur.execute(f"DROP TABLE {qualified(target.schema, target.name)}")
        cur.execute(f"CREATE OR REPLACE VIEW {qualified(target.schema, target.name)} AS\n{sql}")
        return None

    return _in_transaction(cur, target, body)


def _swap_in(cur: Any, target: BuildTarget) -> None:
    _drop(cur, target.schema, target.name)
    cur.execute(f"ALTER TABLE {qualified(target.schema, target.name + NEW_SUFFIX)} "
                f"RENAME TO {quote(target.name)}")


def build_table(cur: Any, target: BuildTarget, sql: str) -> Built:
    """Build ``sql`` into a new table and swap it in atomically."""

    def body() -> int:
        staged = qualified(target.schema, target.name + NEW_SUFFIX)
        cur.execute(f"DROP TABLE IF EXISTS {staged}")
        row = cur.execute(f"CREATE TABLE {staged} AS\n{sql}").fetchone()
        rows = int(row[0]) if row else 0
        _swap_in(cur, target)
        return rows

    return _in_transaction(cur, target, body)


def write_table(cur: Any, target: BuildTarget, data: Any) -> Built:
    """Write an Arrow-compatible object (see warehouse.io.scannable) as the table, atomically."""
    view_name = f"__teal_input_{abs(hash((target.model, target.run_id)))}"

    def body() -> int:
        staged = qualified(target.schema, target.name + NEW_SUFFIX)
        cur.register(view_name, data)
        try:
            cur.execute(f"DROP TABLE IF EXISTS {staged}")
            row = cur.execute(f"CREATE TABLE {staged} AS SELECT * FROM {quote(view_name)}").fetchone()
        finally:
            cur.unregister(view_name)
        rows = int(row[0]) if row else 0
        _swap_in(cur, target)
        return rows

    return _in_transaction(cur, target, body)


def record_failure(cur: Any, target: BuildTarget, started: datetime, message: str) -> None:
    """Log a failed attempt (its own small transaction; the data was rolled back)."""
    state.record_build(cur, run_id=target.run_id, model=target.model,
                       relation=f"{target.schema}.{target.name}",
                       materialization=target.materialization, sql_hash=target.sql_hash,
                       status="error", rows=None, started_at=started, finished_at=_now(),
                       message=message[:2000])
