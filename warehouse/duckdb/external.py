"""External materializations on DuckDB: a model's rows written as Parquet, CSV or JSON
files, the view over them registered under the model's relation, and both published with
the state row in one transaction (write-audit-publish for files).

A local location is written to a temporary sibling (``teal.warehouse.files``), audited
there by the model's checks, then swapped into place inside the transaction that creates
the view and records the build; a kill at any point is finished or undone when the next
writer opens the warehouse. The unit swapped is the whole location (a table's files), or
one partition's folder (``<location>/<key>/``), so a partition refresh rewrites that folder
only. A URL location (object storage; ``file://`` too) has no rename: its rows are staged
in a temporary table, audited there and then copied to their place; a kill mid-copy is
recorded as a failure, so the next build writes it again.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.external import ExternalSpec, key_path
from teal.warehouse import files
from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.file_sql import (
    Columns,
    describe,
    files_sql,
    guarded,
    model_columns,
    publish_view,
    rows_of,
    write_files,
)
from teal.warehouse.duckdb.partitions import OUTSIDE, _outside_partition, place_rows
from teal.warehouse.duckdb.sql import SQL, quote
from teal.warehouse.duckdb.transactions import (
    Check,
    now,
    record_model_build,
    record_partition_build,
    stage_name,
    transaction,
)
from teal.warehouse.engine import BuildTarget, Built, PartitionRowsError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

# a partition of a rebuild: key, SQL or a callable giving rows, filter
Part = tuple[str, Any, str]


# -- publications ----------------------------------------------------------------------


class _Local:
    """A publication to a local folder or file: staged beside it, swapped into place."""

    def __init__(self, journals: Path, target: BuildTarget, keys: list[str] | None) -> None:
        spec = target.external
        assert spec is not None
        self.spec = spec
        self.pub = files.Publication(
            journals, spec.location, model=target.model, run_id=target.run_id, keys=keys
        )
        self.token = self.pub.token

    def __enter__(self) -> _Local:
        self.pub.begin()
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.pub.finish()
        else:
            self.pub.undo()

    def whole(self) -> str:
        """Where the model's files are staged, as a whole."""
        path = self.pub.single_file() if self.spec.single_file else self.pub.unit("")
        return str(path)

    def part(self, key: str) -> str:
        return str(self.pub.unit(key_path(key)))

    def staged_root(self) -> str:
        return str(self.pub.stage_root)

    def publish(self) -> None:
        self.pub.publish(self.spec.extension)


class _Remote:
    """A publication to a URL: journaled (a kill mid-copy is rebuilt), written in place."""

    def __init__(self, journals: Path, target: BuildTarget, keys: list[str] | None) -> None:
        spec = target.external
        assert spec is not None
        self.spec = spec
        self.token = files.new_token()
        self.journal = files.Journal(
            journals / f"{self.token}.json",
            self.token,
            target.model,
            target.run_id,
            keys,
            None,
            spec.location,
            remote=True,
        )

    def __enter__(self) -> _Remote:
        self.journal.write()
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        # committed, or rolled back with the failure recorded (the next build writes what
        # may be half overwritten again): only a kill leaves the journal
        self.journal.remove()

    def whole(self) -> str:
        return self.spec.location

    def part(self, key: str) -> str:
        return f"{self.spec.location}/{key_path(key)}"


def _publication(journals: Path, target: BuildTarget, keys: list[str] | None) -> _Local | _Remote:
    spec = target.external
    assert spec is not None
    return _Remote(journals, target, keys) if spec.remote else _Local(journals, target, keys)


def _record_files(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    token: str,
    keys: list[tuple[str | None, int]],
    at: datetime,
) -> None:
    spec = target.external
    assert spec is not None
    state.record_external(
        cur,
        run_id=target.run_id,
        model=target.model,
        rows=[
            (key, spec.location if key is None else f"{spec.location}/{key_path(key)}", n)
            for key, n in keys
        ],
        file_format=spec.format,
        token=token,
        published_at=at,
    )


def build(
    cur: DuckDBPyConnection, target: BuildTarget, source: Any, audit: Check, journals: Path
) -> Built:
    """The whole model written as files, audited, and published with its view and state
    row (an unpartitioned external model; ``source`` is SQL or Arrow-compatible rows)."""
    spec = target.external
    assert spec is not None
    started = now()
    with ExitStack() as scope:
        rows_sql = scope.enter_context(rows_of(cur, source, target.model))
        columns = describe(cur, rows_sql)
        with _publication(journals, target, None) as pub, transaction(cur):
            if isinstance(pub, _Local):
                where = pub.whole()
                rows = write_files(cur, spec, rows_sql, where, columns)
                if audit is not None:
                    audit(_audited(spec, where, columns, cur))
                pub.publish()
            else:
                rows = _stage_and_copy(cur, target, rows_sql, audit, [(pub.whole(), "")])
            tag = publish_view(cur, target, columns)
            finished = record_model_build(cur, target, rows, started)
            _record_files(cur, target, pub.token, [(None, rows)], finished)
    target.committed("view", tag)
    return Built(rows=rows, started_at=started, finished_at=finished)


def _audited(spec: ExternalSpec, where: str, columns: Columns, cur: DuckDBPyConnection) -> str:
    """The relation the checks read: the staged files, as the view will read them."""
    staged = ExternalSpec(where, spec.format, spec.compression, spec.partition_by, spec.single_file)
    any_files = files.has_files(Path(where), spec.extension)
    return f"({files_sql(staged, where, columns, any_files=any_files)})"


def _stage_and_copy(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    rows_sql: str,
    audit: Check,
    places: list[tuple[str, str]],
) -> int:
    """URL locations: the rows staged in a temporary table, audited there, then copied to
    each ``(where, filter)`` of ``places`` (a filter picks a partition's rows)."""
    spec = target.external
    assert spec is not None
    stage = stage_name(target.model)
    row = cur.execute(SQL.create_as(stage, rows_sql, kind="TEMP TABLE")).fetchone()
    if row is None:  # a PIVOT, which DuckDB runs as several statements, gives no count
        row = cur.execute(SQL.count_rows(stage)).fetchone()
    rows = int(row[0]) if row else 0
    if audit is not None:
        audit(stage)
    for where, predicate in places:
        picked = SQL.select_all(stage) + (f" WHERE {predicate}" if predicate else "")
        write_files(cur, spec, picked, where)
    cur.execute(SQL.drop(stage))
    return rows


def replace_partition(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    key: str,
    source: Any,
    partition_filter: str,
    audit: Check,
    journals: Path,
) -> Built:
    """One partition written as its own folder (``<location>/<key>/``) and swapped in with
    its state row; the other partitions' folders are not touched. Every row must belong to
    the partition (else nothing changes and the error says how many do not)."""
    spec = target.external
    assert spec is not None
    started = now()
    try:
        with ExitStack() as scope:
            rows_sql = scope.enter_context(rows_of(cur, source, (target.model, key)))
            columns = model_columns(cur, target, source, rows_sql)
            checked = guarded(rows_sql, partition_filter)
            with _publication(journals, target, [key]) as pub, transaction(cur):
                if isinstance(pub, _Local):
                    where = pub.part(key)
                    rows = write_files(cur, spec, checked, where, columns)
                    if audit is not None:
                        audit(_audited(spec, where, columns, cur))
                    pub.publish()
                else:
                    rows = _stage_and_copy(cur, target, checked, audit, [(pub.part(key), "")])
                tag = publish_view(cur, target, columns)
                finished = record_partition_build(cur, target, key, rows, started)
                _record_files(cur, target, pub.token, [(key, rows)], finished)
    except Exception as exc:
        if OUTSIDE not in str(exc):
            raise
        raise _outside_partition(cur, target, key, source, partition_filter) from None
    target.committed("view", tag)
    return Built(rows=rows, started_at=started, finished_at=finished)


def rebuild_partitions(
    cur: DuckDBPyConnection, target: BuildTarget, parts: list[Part], audit: Check, journals: Path
) -> Built:
    """``--full-refresh``: every partition's folder written into a new location, audited,
    and swapped in whole with every partition's state row (partitions no longer built are
    gone)."""
    spec = target.external
    assert spec is not None
    started = now()
    keys = [key for key, _, _ in parts]
    total = 0
    columns: Columns = []
    counted: list[tuple[str | None, int]] = []
    with _publication(journals, target, keys) as pub, transaction(cur):
        remote = isinstance(pub, _Remote)
        root = pub.whole()
        stage = stage_name(target.model)
        for key, make, partition_filter in parts:
            t0 = now()
            source = make() if callable(make) else make
            with rows_of(cur, source, (target.model, key)) as rows_sql:
                if not columns:
                    columns = describe(cur, rows_sql)
                checked = guarded(rows_sql, partition_filter)
                try:
                    if remote:  # staged in a temporary table, audited and copied below
                        row = cur.execute(
                            SQL.create_as(stage, checked, kind="TEMP TABLE")
                            if not counted
                            else SQL.insert_by_name(stage, f"({checked})")
                        ).fetchone()
                        rows = int(row[0]) if row else 0
                    else:
                        rows = write_files(cur, spec, checked, f"{root}/{key_path(key)}", columns)
                except Exception as exc:
                    if OUTSIDE not in str(exc):
                        raise
                    raise PartitionRowsError(
                        f"rows do not belong to partition {key} (they fail {partition_filter})"
                    ) from None
            record_partition_build(cur, target, key, rows, t0)
            counted.append((key, rows))
            total += rows
        if remote:
            if counted:
                if audit is not None:
                    audit(stage)
                for key, _, partition_filter in parts:
                    picked = SQL.select_all(stage) + (
                        f" WHERE {partition_filter}" if partition_filter else ""
                    )
                    write_files(cur, spec, picked, f"{root}/{key_path(key)}", columns)
                cur.execute(SQL.drop(stage))
        else:
            if audit is not None:
                audit(_audited(_folder(spec), root, columns, cur))
            assert isinstance(pub, _Local)
            pub.publish()
        tag = publish_view(cur, target, columns)
        finished = record_model_build(cur, target, total, started)
        _record_files(cur, target, pub.token, counted, finished)
    target.committed("view", tag)
    return Built(rows=total, started_at=started, finished_at=finished)


def _folder(spec: ExternalSpec) -> ExternalSpec:
    return ExternalSpec(spec.location, spec.format, spec.compression, spec.partition_by, False)


def replace_partitions_single_run(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    windows: list[tuple[str, datetime, datetime]],
    source: Any,
    column: str,
    audit: Check,
    journals: Path,
) -> Built:
    """Many time partitions from one query (``backfill_policy='single_run'``): the rows
    staged once, placed in their windows, each window's rows written as its partition's
    folder, and all the folders swapped in with their state rows in one transaction."""
    spec = target.external
    assert spec is not None
    started = now()
    stage = stage_name(target.model)
    col = quote(column)
    keys = [k for k, _, _ in windows]

    # a bound's literal: its offset written in the hour clocks repeat in autumn
    from teal.compiler.partition_sql import timestamp_literal as ts

    with ExitStack() as scope:
        rows_sql = scope.enter_context(rows_of(cur, source, target.model))
        columns = describe(cur, rows_sql)
        with _publication(journals, target, keys) as pub, transaction(cur):
            cur.execute(SQL.create_as(stage, rows_sql, kind="TEMP TABLE"))
            counts, outside = place_rows(cur, target.model, stage, windows, column)
            if outside:
                raise PartitionRowsError(
                    f"{outside:,} rows fall outside the {len(windows)} partitions being built "
                    f"({windows[0][0]}..{windows[-1][0]})"
                )
            if audit is not None:
                audit(stage)
            for key, lo, hi in windows:
                picked = SQL.select_all(stage) + f" WHERE {col} >= {ts(lo)} AND {col} < {ts(hi)}"
                if isinstance(pub, _Local):
                    where = pub.part(key)
                    if counts.get(key):
                        write_files(cur, spec, picked, where, columns)
                elif counts.get(key):
                    write_files(cur, spec, picked, pub.part(key), columns)
            cur.execute(SQL.drop(stage))
            if isinstance(pub, _Local):
                pub.publish()
            tag = publish_view(cur, target, columns)
            finished = now()
            duration_ms = (finished - started).total_seconds() * 1000.0 / max(len(windows), 1)
            state.record_partitions(
                cur,
                run_id=target.run_id,
                model=target.model,
                counts=[(key, counts.get(key, 0)) for key in keys],
                sql_hash=target.sql_hash,
                started_at=started,
                finished_at=finished,
                duration_ms=duration_ms,
                versions=target.partition_versions,
            )
            _record_files(cur, target, pub.token, [(k, counts.get(k, 0)) for k in keys], finished)
    rows = sum(n for k, n in counts.items() if k is not None)
    target.committed("view", tag)
    return Built(rows=int(rows), started_at=started, finished_at=finished)


# -- recovery -----------------------------------------------------------------------------


def recover(conn: DuckDBPyConnection, journals: Path | None) -> list[files.Recovered]:
    """Finish or undo the publications a killed process left (see teal.warehouse.files);
    a URL location that was being written is recorded as failed, so it is built again."""
    if journals is None or not journals.is_dir():
        return []

    def committed(token: str) -> bool:
        row = conn.execute(
            f"SELECT count(*) FROM {state.SCHEMA}.external WHERE token = ?", [token]
        ).fetchone()
        return bool(row and row[0])

    done = files.recover(journals, committed)
    at = now()
    for found in done:
        if found.outcome != "rebuild":
            continue
        message = "interrupted while its files were written; built again by the next build"
        if found.keys:
            for key in found.keys:
                state.record_partition(
                    conn,
                    run_id="recovered",
                    model=found.model,
                    key=key,
                    status="error",
                    rows=None,
                    sql_hash="",
                    started_at=at,
                    finished_at=at,
                    message=message,
                )
        else:
            state.record_build(
                conn,
                state.build_values(
                    run_id="recovered",
                    model=found.model,
                    relation=None,
                    materialization="external",
                    sql_hash="",
                    status="error",
                    rows=None,
                    started_at=at,
                    finished_at=at,
                    message=message,
                ),
            )
    return done
