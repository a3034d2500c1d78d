"""A project's DuckDB settings on an open connection: its extensions loaded, and DuckDB's
refusals of them turned into errors that point at the project file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from teal.compiler.errors import WarehouseError, did_you_mean
from teal.warehouse.duckdb.sql import quote

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from teal.compiler.engine_settings import DuckDBSettings


def configure(conn: DuckDBPyConnection, settings: DuckDBSettings, config_file: str | None) -> None:
    """Load ``settings``' extensions (installing those that are missing); the settings
    themselves were given to ``duckdb.connect``."""
    import duckdb

    for name in settings.extensions:
        try:
            conn.execute(f"LOAD {quote(name)}")
        except duckdb.Error:
            try:
                conn.execute(f"INSTALL {quote(name)}")
                conn.execute(f"LOAD {quote(name)}")
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"DuckDB extension '{name}' could not be loaded: {_first_line(exc)}",
                    path=config_file,
                    hint="check its name in [duckdb] extensions, or install it where this "
                    "machine can reach DuckDB's extension repository",
                ) from None


def setting_error(exc: BaseException, config_file: str | None) -> WarehouseError | None:
    """The error for a DuckDB setting it refused at connect, or None for another error."""
    import duckdb

    message = _first_line(exc)
    if "options were not recognized" in message:
        unknown = message.rsplit(":", 1)[-1].strip()
        names = duckdb.connect(":memory:").execute("select name from duckdb_settings()")
        known = [row[0] for row in names.fetchall()]
        return WarehouseError(
            f"unknown DuckDB setting '{unknown}' in [duckdb]",
            path=config_file,
            hint=did_you_mean(unknown, known) or "`select name from duckdb_settings()` lists them",
        )
    if isinstance(exc, duckdb.ParserException | duckdb.InvalidInputException):
        return WarehouseError(
            f"a DuckDB setting in [duckdb] was refused: {message}", path=config_file
        )
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]
