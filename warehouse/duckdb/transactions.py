"""One materialization, one transaction: the helpers every DuckDB materialization shares.

A step's data and its state row are written in one transaction (``BEGIN`` ... ``COMMIT``):
DuckDB's DDL is transactional, so until the commit everyone else reads the previous
relation, and a failure or a kill at any point before it leaves that relation as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.sql import SQL, qualified, quote
from teal.warehouse.engine import BuildTarget, Built

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

NEW_SUFFIX = "__teal_new"

Check = Callable[[str], None] | None  # audit(relation_sql), bound to the caller's cursor


def existing(cur: DuckDBPyConnection, target: BuildTarget) -> str | None:
    """ "table", "view" or None: what is at the target's relation now."""
    if target.catalog is not None:
        return target.catalog.kind(target.schema, target.name)
    return existing_kind(cur, target.schema, target.name)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def existing_kind(cur: DuckDBPyConnection, schema: str, name: str) -> str | None:
    rows = cur.execute(
        "select table_type from information_schema.tables where table_catalog = current_database() "
        # DuckDB identifiers are case-insensitive: "Report" replaces an existing "report"
        "and lower(table_schema) = lower(?) and lower(table_name) = lower(?)",
        [schema, name],
    ).fetchall()  # fetchall: a half-read result blocks the cursor's next query
    if not rows:
        return None
    row = rows[0]
    return "view" if row[0] == "VIEW" else "table"


def drop_relation(cur: DuckDBPyConnection, schema: str, name: str, kind: str | None) -> None:
    if kind == "view":
        cur.execute(SQL.drop(qualified(schema, name), "VIEW"))
    elif kind == "table":
        cur.execute(SQL.drop(qualified(schema, name)))


@contextmanager
def transaction(cur: DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK on any error (or kill: nothing is committed then)."""
    cur.execute(SQL.begin)
    try:
        yield
    except BaseException:
        try:
            cur.execute(SQL.rollback)
        except Exception:  # noqa: BLE001 - the transaction may already be aborted
            pass
        raise
    cur.execute(SQL.commit)


def build_row(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    status: str,
    rows: int | None,
    started: datetime,
    finished: datetime,
    **extra: str,
) -> None:
    """One row of the target's build history (``extra``: its data version or message);
    in a group, kept for the one statement the group writes before its commit."""
    values = state.build_values(
        run_id=target.run_id,
        model=target.model,
        relation=f"{target.schema}.{target.name}",
        materialization=target.materialization,
        sql_hash=target.sql_hash,
        status=status,
        rows=rows,
        started_at=started,
        finished_at=finished,
        **extra,
    )
    if target.group is not None:
        target.group.defer(state.BUILDS, values)
    else:
        state.record_build(cur, values)


def record_model_build(
    cur: DuckDBPyConnection, target: BuildTarget, rows: int, started: datetime
) -> datetime:
    """The target's successful build row, in the open transaction; when it finished."""
    finished = now()
    build_row(cur, target, "success", rows, started, finished, data_version=target.data_version)
    return finished


def record_partition_build(
    cur: DuckDBPyConnection, target: BuildTarget, key: str, rows: int, started: datetime
) -> datetime:
    """Partition ``key``'s successful build row, in the open transaction; when it finished."""
    finished = now()
    state.record_partition(
        cur,
        run_id=target.run_id,
        model=target.model,
        key=key,
        status="success",
        rows=rows,
        sql_hash=target.sql_hash,
        started_at=started,
        finished_at=finished,
        data_version=target.partition_versions.get(key),
    )
    return finished


def in_transaction(
    cur: DuckDBPyConnection, target: BuildTarget, body: Any, kind: str = "table"
) -> Built:
    """``body()`` and the target's state row in one transaction: its own, or the one of
    the group the target was built in (which begins and commits it)."""
    started = now()
    group = target.group
    if group is not None:
        rows = body()
        finished = record_model_build(cur, target, rows, started)
        group.after_commit(lambda: target.committed(kind))
        return Built(rows=rows, started_at=started, finished_at=finished)
    with transaction(cur):
        rows = body()
        finished = record_model_build(cur, target, rows, started)
    target.committed(kind)
    return Built(rows=rows, started_at=started, finished_at=finished)


def swap_in(cur: DuckDBPyConnection, target: BuildTarget) -> None:
    drop_relation(cur, target.schema, target.name, existing(cur, target))
    cur.execute(SQL.rename(qualified(target.schema, target.name + NEW_SUFFIX), quote(target.name)))


def stage_name(model: str) -> str:
    return quote(f"__teal_stage_{model}")


def insert_by_name(cur: DuckDBPyConnection, target: BuildTarget, source: str) -> int:
    row = cur.execute(SQL.insert_by_name(qualified(target.schema, target.name), source)).fetchone()
    return int(row[0]) if row else 0
