"""The deferred warehouse of ``--defer-to`` (compiler/deferral.py), as DuckDB reads it.

:func:`deferred_columns` opens the file read-only, lists the columns of the relations asked
for in one catalog query, and closes it: nothing is written to it (a read-only open takes
no write lock and writes no WAL). A build then attaches it read-only to its own connection
as an attached DuckDB source (:func:`deferred_source`, through ``attach_sources``), so every
cursor of the build reads it under the catalog ``compiler.deferral.CATALOG``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.deferral import CATALOG, Columns
from teal.compiler.errors import ProjectError, WarehouseBusy, WarehouseError
from teal.compiler.sources import Source
from teal.warehouse.duckdb.errors import open_error

if TYPE_CHECKING:
    import duckdb

HINT = "point {flag} at the DuckDB file of a warehouse teal (or dbt-duckdb) built"


def deferred_columns(
    path: Path,
    relations: Iterable[tuple[str, str]],
    flag: str = "--defer-to",
    wait: float | None = None,
) -> dict[tuple[str, str], Columns]:
    """The columns and types of each of ``relations`` (schema, name) found in the DuckDB
    file ``path``, keyed by the lower-cased pair; a relation not there is left out. A file
    that does not exist, is not a DuckDB database or is held by a writer is an error;
    ``wait``: seconds to wait for a writer to let go first (``--wait``)."""
    wanted = {(s.lower(), n.lower()) for s, n in relations}
    if not path.is_file():
        raise ProjectError(
            f"{flag} {path}: no such file",
            hint=HINT.format(flag=flag) + " (build production's warehouse first)",
        )
    conn = _open(path, flag, wait)
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    try:
        rows = conn.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            "where database_name = current_database() order by column_index"
        ).fetchall()
    finally:
        conn.close()
    for schema, table, column, data_type in rows:
        key = (str(schema).lower(), str(table).lower())
        if key in wanted:
            found.setdefault(key, []).append((str(column), str(data_type)))
    return {k: tuple(v) for k, v in found.items()}


def _open(path: Path, flag: str, wait: float | None) -> duckdb.DuckDBPyConnection:
    """``path`` opened read-only; while another process writes it, retried (a growing
    pause) for up to ``wait`` seconds, said once, as the build waits for its warehouse."""
    import duckdb

    deadline, pause, told = time.monotonic() + (wait or 0.0), 0.05, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            if "not a valid DuckDB database" in str(exc):
                raise ProjectError(
                    f"{flag} {path}: not a DuckDB database file", hint=HINT.format(flag=flag)
                ) from None
            error = open_error(exc, str(path))
            left = deadline - time.monotonic()
            if not isinstance(error, WarehouseBusy) or left <= 0:
                raise _located(error, flag, wait) from None
        if not told:
            logging.getLogger("teal").warning(
                "waiting for %s %s (up to %g s): another process writes it", flag, path, wait
            )
            told = True
        time.sleep(min(pause, left))
        pause = min(pause * 2, 1.0)


def _located(error: WarehouseError, flag: str, wait: float | None = None) -> WarehouseError:
    if isinstance(error, WarehouseBusy):
        return WarehouseBusy(
            f"{flag}: {error.message}" + (f": still held after waiting {wait:g} s" if wait else ""),
            path=error.path,
            hint="wait longer with --wait SECONDS"
            if wait
            else "the same command with --wait SECONDS waits for the other process to let go "
            "of it (a production build writing it)",
        )
    return WarehouseError(f"{flag}: {error.message}", path=error.path, hint=error.hint)


def deferred_source(path: Path) -> Source:
    """The deferred file as a read-only DuckDB source the build attaches as ``CATALOG``."""
    return Source(CATALOG, "duckdb", str(path), declared_in=str(path), read_only=True)
