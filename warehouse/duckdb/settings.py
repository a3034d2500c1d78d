"""A project's DuckDB settings on an open connection: its extensions loaded, and DuckDB's
refusals of them turned into errors that point at the project file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.errors import WarehouseError, did_you_mean
from teal.warehouse.duckdb.sql import quote

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from teal.compiler.engine_settings import DuckDBSettings, SettingValue


# what a setting given to duckdb.connect may be
ConnectValue = str | bool | int | float | list[str]


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


def setting_error(
    exc: BaseException,
    config_file: str | None,
    config_path: Path | None = None,
    settings: Mapping[str, ConnectValue] | None = None,
) -> WarehouseError | None:
    """The error for a DuckDB setting it refused at connect, or None for another error;
    at the setting's key when ``config_path`` (the project file) is given, and for a value
    refused, ``settings`` (those the connection was given, tried one by one to find it)."""
    import duckdb

    message = _first_line(exc)
    if "options were not recognized" in message:
        unknown = message.rsplit(":", 1)[-1].strip()
        names = duckdb.connect(":memory:").execute("select name from duckdb_settings()")
        known = [row[0] for row in names.fetchall()]
        line, col, text = (
            _key_position(config_path, unknown) if config_path is not None else (None,) * 3
        )
        return WarehouseError(
            f"unknown DuckDB setting '{unknown}' in [duckdb]",
            path=config_file,
            line=line,
            col=col,
            source_line=text,
            hint=did_you_mean(unknown, known) or "`select name from duckdb_settings()` lists them",
        )
    if isinstance(exc, duckdb.ParserException | duckdb.InvalidInputException):
        found = WarehouseError(
            f"a DuckDB setting in [duckdb] was refused: {message}", path=config_file
        )
        if config_path is not None and settings:
            return _at_refused_key(found, settings, config_path)
        return found
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


def settings_problems(settings: dict[str, SettingValue], config_path: Path) -> list[WarehouseError]:
    """What DuckDB refuses of a project's ``[duckdb]`` settings, as a connection to the
    warehouse would, found on an in-memory database (``teal validate`` asks before any
    warehouse is opened), each at its key in the project file."""
    import duckdb

    tried: dict[str, ConnectValue] = {k: v for k, v in settings.items() if k not in _FILE_ONLY}
    if not tried:
        return []
    try:
        duckdb.connect(":memory:", config=tried).close()
        return []
    except duckdb.Error as exc:
        found = setting_error(exc, config_path.name, config_path)
    if found is None:
        return []
    if found.line is not None:
        return [found]
    return [_at_refused_key(found, tried, config_path)]


def _at_refused_key(
    found: WarehouseError, settings: Mapping[str, ConnectValue], config_path: Path
) -> WarehouseError:
    """``found``, a refusal of one of ``settings``, at the key of the setting refused
    (each is tried alone on an in-memory database), with a hint."""
    import duckdb

    for key, value in settings.items():
        if key in _FILE_ONLY:
            continue
        try:
            duckdb.connect(":memory:", config={key: value}).close()
        except duckdb.Error:
            line, col, text = _key_position(config_path, key, value)
            return WarehouseError(
                found.message,
                path=config_path.name,
                line=line,
                col=col,
                source_line=text,
                hint=found.hint
                or "`select name, description from duckdb_settings()` says what each setting takes",
            )
    return found


# settings an in-memory database refuses whatever their value
_FILE_ONLY = frozenset({"access_mode"})


def _key_position(
    path: Path, key: str, value: object = None
) -> tuple[int | None, int | None, str | None]:
    """The line, column and text of ``key = ...`` in the TOML file ``path``: the first
    that sets it to ``value`` when given (a target's setting overrides the project's),
    else the first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, None, None
    pattern = re.compile(rf"\s*\"?{re.escape(key)}\"?\s*=(.*)")
    found = [(n, text, m.group(1)) for n, text in enumerate(lines, 1) if (m := pattern.match(text))]
    if value is not None:
        found = [f for f in found if str(value).lower() in f[2].lower()] or found
    if not found:
        return None, None, None
    number, text, _ = found[0]
    return number, text.index(key) + 1, text
