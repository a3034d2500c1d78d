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

A Python asset whose data an I/O manager resource saves (``target.store``) is audited on
its rows before the manager is called, and recorded with the view the manager offers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.external import ExternalSpec, key_path
from teal.warehouse import files
from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.partitions import OUTSIDE, _outside_partition, place_rows
from teal.warehouse.duckdb.sql import SQL, qualified, quote, string_literal
from teal.warehouse.duckdb.transactions import (
    Check,
    existing,
    now,
    stage_name,
    transaction,
)
from teal.warehouse.engine import BuildTarget, Built, PartitionRowsError
from teal.warehouse.io import as_table

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

DATA_FILE = "data_0"  # a folder's one file, as DuckDB names partitioned writes' files
Columns = list[tuple[str, str]]  # (name, DuckDB type), in the model's order
# a partition of a rebuild: key, SQL or a callable giving rows, filter
Part = tuple[str, Any, str]


# -- SQL over the files -----------------------------------------------------------------


def describe(cur: DuckDBPyConnection, select_sql: str) -> Columns:
    """The columns and types ``select_sql`` returns (bound, not run)."""
    return [(row[0], row[1]) for row in cur.execute(SQL.describe(select_sql)).fetchall()]


def _columns(cur: DuckDBPyConnection, target: BuildTarget, source: Any, rows_sql: str) -> Columns:
    """The model's columns: a SQL model's are the same for each of its partitions (asked
    once per run); a Python asset's rows are described each time (they may differ)."""
    if target.catalog is None or not isinstance(source, str):
        return describe(cur, rows_sql)
    key = ("columns", target.schema, target.name, target.sql_hash)
    return list(target.catalog.remember(key, lambda: describe(cur, rows_sql)))


def _struct(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{string_literal(n)}: {string_literal(t)}" for n, t in pairs) + "}"


def files_sql(spec: ExternalSpec, where: str, columns: Columns, *, any_files: bool) -> str:
    """The SELECT that reads the model's rows back from the files at ``where`` (the
    location, or its staged copy): the model's columns in its order and with its types
    (hive folders and CSV carry text), or no row when there is no file yet."""
    names = [quote(n) for n, _ in columns]
    if not any_files:
        return SQL.select_nothing([f"CAST(NULL AS {t}) AS {quote(n)}" for n, t in columns])
    by = {c.lower() for c in spec.partition_by}
    pattern = where if spec.single_file else f"{where.rstrip('/')}/**/*{spec.extension}"
    options = [f"hive_partitioning = {'true' if by else 'false'}"]
    if by:
        options.append(f"hive_types = {_struct([(n, t) for n, t in columns if n.lower() in by])}")
    in_files = [(n, t) for n, t in columns if n.lower() not in by]
    if spec.format == "parquet":
        if not spec.single_file:
            options.append("union_by_name = true")
    elif spec.format == "csv":
        options = ["header = true", f"columns = {_struct(in_files)}", *options]
    else:
        options = ["format = 'newline_delimited'", f"columns = {_struct(in_files)}", *options]
    return SQL.select_files(spec.format, pattern, names, options)


def copy_options(spec: ExternalSpec, partition_by: bool) -> list[str]:
    """COPY's options for ``spec``'s files."""
    options = [f"FORMAT {spec.format}"]
    if spec.compression is not None and not (
        spec.format != "parquet" and spec.compression == "none"
    ):
        options.append(f"COMPRESSION {spec.compression}")
    if spec.format == "csv":
        options.append("HEADER true")
    if partition_by and spec.partition_by:
        options.append(f"PARTITION_BY ({', '.join(quote(c) for c in spec.partition_by)})")
        options.append("OVERWRITE_OR_IGNORE true")
        options.append(f"FILENAME_PATTERN '{DATA_FILE.replace('0', '{i}')}'")
        options.append(f"FILE_EXTENSION {string_literal(spec.extension.lstrip('.'))}")
    return options


def write_files(cur: DuckDBPyConnection, spec: ExternalSpec, select_sql: str, where: str) -> int:
    """Write ``select_sql``'s rows to the folder ``where`` (hive folders by
    ``partition_by``, else one file), or to the one file ``where`` names; the row count."""
    if spec.single_file:
        path = where
    elif spec.partition_by:
        path = where
        _make_parent(where, folder=True)
    else:
        path = f"{where.rstrip('/')}/{DATA_FILE}{spec.extension}"
    if path != where or spec.single_file:
        _make_parent(path)
    row = cur.execute(SQL.copy_to(select_sql, path, copy_options(spec, True))).fetchone()
    return int(row[0]) if row else 0


def _make_parent(path: str, folder: bool = False) -> None:
    """Local folders DuckDB's COPY expects to exist (object storage has none)."""
    local = path[len("file://") :] if path.startswith("file://") else path
    if "://" in local:
        return
    target = Path(local) if folder else Path(local).parent
    target.mkdir(parents=True, exist_ok=True)


def has_files(cur: DuckDBPyConnection, spec: ExternalSpec) -> bool:
    """Whether the location holds a data file now."""
    if not spec.remote:
        return files.has_files(Path(spec.location), spec.extension)
    pattern = spec.location if spec.single_file else f"{spec.location}/**/*{spec.extension}"
    row = cur.execute(SQL.count_files(pattern)).fetchone()
    return bool(row and row[0])


def _replace_view(cur: DuckDBPyConnection, target: BuildTarget, select_sql: str) -> str:
    """The view over the files, replaced only when its SQL changes: creating it binds the
    query, which reads every file's footer, so a partition refresh that leaves the SQL as it
    was (the usual case) skips it. The view's comment holds a digest of its SQL (and the
    run's catalog, once committed): the digest is returned for ``target.committed``."""
    import hashlib

    relation = qualified(target.schema, target.name)
    tag = "teal:" + hashlib.sha256(select_sql.encode()).hexdigest()[:24]
    kind = existing(cur, target)
    if kind == "view" and target.catalog is not None:
        if target.catalog.view_sql(target.schema, target.name) == tag:
            return tag
    if kind == "view":
        row = cur.execute(
            "SELECT comment FROM duckdb_views() WHERE database_name = current_database() "
            "AND lower(schema_name) = lower(?) AND lower(view_name) = lower(?)",
            [target.schema, target.name],
        ).fetchall()
        if row and row[0][0] == tag:
            return tag
    elif kind == "table":
        cur.execute(SQL.drop(relation))
    cur.execute(SQL.create_as(relation, select_sql, kind="VIEW"))
    cur.execute(SQL.comment_view(relation, tag))
    return tag


def _publish_view(cur: DuckDBPyConnection, target: BuildTarget, columns: Columns) -> str:
    spec = target.external
    assert spec is not None
    return _replace_view(
        cur, target, files_sql(spec, spec.location, columns, any_files=has_files(cur, spec))
    )


def _guarded(rows_sql: str, partition_filter: str) -> str:
    """Rows that must all belong to the partition: any other one aborts with ``OUTSIDE``."""
    if not partition_filter:
        return rows_sql
    return (
        f"{rows_sql} AS __teal_rows WHERE CASE WHEN coalesce(({partition_filter}), false) "
        f"THEN true ELSE error('{OUTSIDE}') END"
    )


@contextmanager
def _rows(cur: DuckDBPyConnection, source: Any, hint: Any) -> Iterator[str]:
    """``SELECT * FROM`` the source: a query, or an Arrow-compatible object registered."""
    if isinstance(source, str):
        yield SQL.select_all(f"(\n{source}\n)")
        return
    with registered(cur, source, hint) as view:
        yield SQL.select_all(view)


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


def _record_build(
    cur: DuckDBPyConnection, target: BuildTarget, rows: int, started: datetime
) -> datetime:
    finished = now()
    state.record_build(
        cur,
        run_id=target.run_id,
        model=target.model,
        relation=f"{target.schema}.{target.name}",
        materialization=target.materialization,
        sql_hash=target.sql_hash,
        status="success",
        rows=rows,
        started_at=started,
        finished_at=finished,
        data_version=target.data_version,
    )
    return finished


def build(
    cur: DuckDBPyConnection, target: BuildTarget, source: Any, audit: Check, journals: Path
) -> Built:
    """The whole model written as files, audited, and published with its view and state
    row (an unpartitioned external model; ``source`` is SQL or Arrow-compatible rows)."""
    spec = target.external
    assert spec is not None
    started = now()
    with ExitStack() as scope:
        rows_sql = scope.enter_context(_rows(cur, source, target.model))
        columns = describe(cur, rows_sql)
        with _publication(journals, target, None) as pub, transaction(cur):
            if isinstance(pub, _Local):
                where = pub.whole()
                rows = write_files(cur, spec, rows_sql, where)
                if audit is not None:
                    audit(_audited(spec, where, columns, cur))
                pub.publish()
            else:
                rows = _stage_and_copy(cur, target, rows_sql, audit, [(pub.whole(), "")])
            tag = _publish_view(cur, target, columns)
            finished = _record_build(cur, target, rows, started)
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
            rows_sql = scope.enter_context(_rows(cur, source, (target.model, key)))
            columns = _columns(cur, target, source, rows_sql)
            guarded = _guarded(rows_sql, partition_filter)
            with _publication(journals, target, [key]) as pub, transaction(cur):
                if isinstance(pub, _Local):
                    where = pub.part(key)
                    rows = write_files(cur, spec, guarded, where)
                    if audit is not None:
                        audit(_audited(spec, where, columns, cur))
                    pub.publish()
                else:
                    rows = _stage_and_copy(cur, target, guarded, audit, [(pub.part(key), "")])
                tag = _publish_view(cur, target, columns)
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
            with _rows(cur, source, (target.model, key)) as rows_sql:
                if not columns:
                    columns = describe(cur, rows_sql)
                guarded = _guarded(rows_sql, partition_filter)
                try:
                    if remote:  # staged in a temporary table, audited and copied below
                        row = cur.execute(
                            SQL.create_as(stage, guarded, kind="TEMP TABLE")
                            if not counted
                            else SQL.insert_by_name(stage, f"({guarded})")
                        ).fetchone()
                        rows = int(row[0]) if row else 0
                    else:
                        rows = write_files(cur, spec, guarded, f"{root}/{key_path(key)}")
                except Exception as exc:
                    if OUTSIDE not in str(exc):
                        raise
                    raise PartitionRowsError(
                        f"rows do not belong to partition {key} (they fail {partition_filter})"
                    ) from None
            state.record_partition(
                cur,
                run_id=target.run_id,
                model=target.model,
                key=key,
                status="success",
                rows=rows,
                sql_hash=target.sql_hash,
                started_at=t0,
                finished_at=now(),
                data_version=target.partition_versions.get(key),
            )
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
                    write_files(cur, spec, picked, f"{root}/{key_path(key)}")
                cur.execute(SQL.drop(stage))
        else:
            if audit is not None:
                audit(_audited(_folder(spec), root, columns, cur))
            assert isinstance(pub, _Local)
            pub.publish()
        tag = _publish_view(cur, target, columns)
        finished = _record_build(cur, target, total, started)
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

    def ts(value: datetime) -> str:
        return f"TIMESTAMP {string_literal(value.replace(tzinfo=None).isoformat(sep=' '))}"

    with ExitStack() as scope:
        rows_sql = scope.enter_context(_rows(cur, source, target.model))
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
                        write_files(cur, spec, picked, where)
                elif counts.get(key):
                    write_files(cur, spec, picked, pub.part(key))
            cur.execute(SQL.drop(stage))
            if isinstance(pub, _Local):
                pub.publish()
            tag = _publish_view(cur, target, columns)
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


# -- I/O managers ------------------------------------------------------------------------


def write_stored(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    data: Any,
    audit: Check,
    *,
    key: str | None = None,
    keys: tuple[str, ...] = (),
    partition_filter: str = "",
) -> Built:
    """A Python asset's rows audited, then saved by its I/O manager (``target.store``) in
    the transaction that records them; the view the manager offers, if any, is created
    there too. A failing check means the manager is never called."""
    store = target.store
    assert store is not None
    table = as_table(data)
    started = now()
    with registered(cur, table, (target.model, key)) as view, transaction(cur):
        if partition_filter:
            row = cur.execute(
                f"SELECT count(*) FROM {view} WHERE NOT coalesce(({partition_filter}), false)"
            ).fetchone()
            if row and row[0]:
                raise PartitionRowsError(
                    f"{row[0]:,} of {table.num_rows:,} rows do not belong to partition {key} "
                    f"(they fail {partition_filter})"
                )
        if audit is not None:
            audit(view)
        store.save(table, keys or ((key,) if key is not None else ()))
        relation = store.relation()
        kind: str | None = None
        tag: str | None = None
        if relation:
            tag = _replace_view(cur, target, SQL.select_all(relation))
            kind = "view"
        finished = now()
        if key is None and not keys:
            _record_build(cur, target, table.num_rows, started)
        elif key is not None:
            state.record_partition(
                cur,
                run_id=target.run_id,
                model=target.model,
                key=key,
                status="success",
                rows=table.num_rows,
                sql_hash=target.sql_hash,
                started_at=started,
                finished_at=finished,
                data_version=target.partition_versions.get(key),
            )
    if kind is not None:
        target.committed(kind, tag)
    return Built(rows=table.num_rows, started_at=started, finished_at=finished)


def stored_partitions(
    cur: DuckDBPyConnection, target: BuildTarget, parts: list[Part], audit: Check
) -> Built:
    """``--full-refresh`` of a partitioned asset an I/O manager stores: each partition
    saved in turn (the manager keeps them; teal records them all in one transaction)."""
    started = now()
    total = 0
    for key, make, partition_filter in parts:
        data = make() if callable(make) else make
        built = write_stored(cur, target, data, audit, key=key, partition_filter=partition_filter)
        total += built.rows or 0
    finished = _recorded_step(cur, target, total, started)
    return Built(rows=total, started_at=started, finished_at=finished)


def _recorded_step(
    cur: DuckDBPyConnection, target: BuildTarget, rows: int, started: datetime
) -> datetime:
    with transaction(cur):
        return _record_build(cur, target, rows, started)


def stored_single_run(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    windows: list[tuple[str, datetime, datetime]],
    data: Any,
    audit: Check,
) -> Built:
    """Many partitions from one call, saved by the I/O manager in one ``save``."""
    keys = tuple(k for k, _, _ in windows)
    built = write_stored(cur, target, data, audit, keys=keys)
    with transaction(cur):
        state.record_partitions(
            cur,
            run_id=target.run_id,
            model=target.model,
            counts=[(k, 0) for k in keys],
            sql_hash=target.sql_hash,
            started_at=built.started_at,
            finished_at=built.finished_at,
            duration_ms=0.0,
            versions=target.partition_versions,
        )
    return built


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
            )
    return done
