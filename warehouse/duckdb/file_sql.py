"""How DuckDB writes a model's rows as files and reads them back: the COPY that writes
them, the SELECT over them (with the model's columns, order and types), and the view
registered over a location, replaced only when its SQL changes. Used by the external
materializations (``external``) and by I/O managers that offer a relation (``stored``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ExecutionError
from teal.compiler.external import ExternalSpec
from teal.warehouse import files
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.partitions import OUTSIDE
from teal.warehouse.duckdb.sql import SQL, qualified, quote, string_literal
from teal.warehouse.duckdb.transactions import existing
from teal.warehouse.engine import BuildTarget

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

DATA_FILE = "data_0"  # a folder's one file, as DuckDB names partitioned writes' files
Columns = list[tuple[str, str]]  # (name, DuckDB type), in the model's order


def describe(cur: DuckDBPyConnection, select_sql: str) -> Columns:
    """The columns and types ``select_sql`` returns (bound, not run)."""
    return [(row[0], row[1]) for row in cur.execute(SQL.describe(select_sql)).fetchall()]


def model_columns(
    cur: DuckDBPyConnection, target: BuildTarget, source: Any, rows_sql: str
) -> Columns:
    """The model's columns: a SQL model's are the same for each of its partitions (asked
    once per run); a Python asset's rows are described each time (they may differ)."""
    if target.catalog is None or not isinstance(source, str):
        return describe(cur, rows_sql)
    key = ("columns", target.schema, target.name, target.sql_hash)
    return list(target.catalog.remember(key, lambda: describe(cur, rows_sql)))


def struct_literal(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{string_literal(n)}: {string_literal(t)}" for n, t in pairs) + "}"


def files_sql(spec: ExternalSpec, where: str, columns: Columns, *, any_files: bool) -> str:
    """The SELECT that reads the model's rows back from the files at ``where`` (the
    location, or its staged copy): the model's columns in its order and with its types
    (hive folders and CSV carry text), or no row when there is no file yet."""
    names = [quote(n) for n, _ in columns]
    if spec.format == "parquet":
        names = [
            f"CAST({quote(n)} AS {t}) AS {quote(n)}" if _PARQUET_RETYPED.match(t) else quote(n)
            for n, t in columns
        ]
    if not any_files:
        return SQL.select_nothing([f"CAST(NULL AS {t}) AS {quote(n)}" for n, t in columns])
    by = {c.lower() for c in spec.partition_by}
    pattern = where if spec.single_file else f"{where.rstrip('/')}/**/*{spec.extension}"
    options = [f"hive_partitioning = {'true' if by else 'false'}"]
    if by:
        options.append(
            f"hive_types = {struct_literal([(n, t) for n, t in columns if n.lower() in by])}"
        )
    in_files = [(n, t) for n, t in columns if n.lower() not in by]
    if spec.format == "parquet":
        if not spec.single_file:
            options.append("union_by_name = true")
    elif spec.format == "csv":
        options = ["header = true", f"columns = {struct_literal(in_files)}", *options]
    else:
        options = [
            "format = 'newline_delimited'",
            f"columns = {struct_literal(in_files)}",
            *options,
        ]
    return SQL.select_files(spec.format, pattern, names, options)


# Parquet has no 128-bit integer: DuckDB writes these as DOUBLE, which loses digits past
# the 16th; as DECIMAL(38,0) they are exact (a UHUGEINT beyond 38 digits fails the write,
# it is not rounded), and the view casts them back
PARQUET_EXACT = {"HUGEINT": "DECIMAL(38,0)", "UHUGEINT": "DECIMAL(38,0)"}
# types Parquet keeps the values of but not the type: the view casts them back
_PARQUET_RETYPED = re.compile(
    r"^(HUGEINT|UHUGEINT|BIT|BIGNUM|VARINT|TIMESTAMP_S|TIMESTAMP_MS|ENUM\(.*\)|.*\[\d+\])$",
    re.IGNORECASE | re.DOTALL,
)


def parquet_exact(select_sql: str, columns: Columns) -> str:
    """``select_sql`` with its 128-bit integer columns as DECIMAL(38,0), for Parquet."""
    exact = [
        f"CAST({quote(n)} AS {PARQUET_EXACT[t.upper()]}) AS {quote(n)}"
        for n, t in columns
        if t.upper() in PARQUET_EXACT
    ]
    if not exact:
        return select_sql
    return f"SELECT * REPLACE ({', '.join(exact)}) FROM ({select_sql})"


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


def write_files(
    cur: DuckDBPyConnection,
    spec: ExternalSpec,
    select_sql: str,
    where: str,
    columns: Columns | None = None,
) -> int:
    """Write ``select_sql``'s rows (``columns``: what it returns, when known) to the folder
    ``where`` (hive folders by ``partition_by``, else one file), or to the one file
    ``where`` names; the row count."""
    if spec.format == "parquet":
        select_sql = parquet_exact(
            select_sql, describe(cur, select_sql) if columns is None else columns
        )
    if spec.single_file:
        path = where
    elif spec.partition_by:
        path = where
        make_parent(where, folder=True)
    else:
        path = f"{where.rstrip('/')}/{DATA_FILE}{spec.extension}"
    if path != where or spec.single_file:
        make_parent(path)
    import duckdb

    try:
        row = cur.execute(SQL.copy_to(select_sql, path, copy_options(spec, True))).fetchone()
    except duckdb.ConversionException as exc:
        if spec.format != "parquet" or "DECIMAL(38,0)" not in str(exc):
            raise
        raise ExecutionError(
            "Parquet has no 128-bit integer, so teal writes HUGEINT and UHUGEINT columns as "
            f"DECIMAL(38,0), exact up to 38 digits, and this value has more: "
            f"{str(exc).splitlines()[0]} (cast it to a smaller type, or write format = 'csv')"
        ) from None
    return int(row[0]) if row else 0


def make_parent(path: str, folder: bool = False) -> None:
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


def replace_view(cur: DuckDBPyConnection, target: BuildTarget, select_sql: str) -> str:
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


def publish_view(cur: DuckDBPyConnection, target: BuildTarget, columns: Columns) -> str:
    spec = target.external
    assert spec is not None
    return replace_view(
        cur, target, files_sql(spec, spec.location, columns, any_files=has_files(cur, spec))
    )


def guarded(rows_sql: str, partition_filter: str) -> str:
    """Rows that must all belong to the partition: any other one aborts with ``OUTSIDE``."""
    if not partition_filter:
        return rows_sql
    return (
        f"{rows_sql} AS __teal_rows WHERE CASE WHEN coalesce(({partition_filter}), false) "
        f"THEN true ELSE error('{OUTSIDE}') END"
    )


@contextmanager
def rows_of(cur: DuckDBPyConnection, source: Any, hint: Any) -> Iterator[str]:
    """``SELECT * FROM`` the source: a query, or an Arrow-compatible object registered."""
    if isinstance(source, str):
        yield SQL.select_all(f"(\n{source}\n)")
        return
    with registered(cur, source, hint) as view:
        yield SQL.select_all(view)
