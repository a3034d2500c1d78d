"""DuckDB settings of a project and of its targets, as dbt-duckdb users set them in their
profile: settings of every connection and extensions to load. (Another DuckDB database is
attached by declaring it as a source of type ``duckdb``, so that models' reads of it are
resolved and in the lineage.)

::

    [duckdb]                        # every connection of the project
    memory_limit = "4GB"            # any DuckDB setting, by DuckDB's name
    temp_directory = ".teal/spill"  # paths are relative to the project folder
    extensions = ["spatial"]        # loaded on open (installed first when missing)

    [targets.prod.duckdb]           # a target's settings, over the project's
    memory_limit = "16GB"

    [duckdb.secrets.lake]           # a DuckDB secret (object storage credentials)
    type = "s3"
    key_id = { env = "LAKE_KEY_ID" }      # an EnvVar: read when the warehouse opens
    secret = { env = "LAKE_SECRET" }      # (from the environment or .env), never written
    region = "eu-central-1"
    scope = "s3://lake"

Setting names are checked by DuckDB when the warehouse opens (an unknown one is an error
naming it, with the closest names DuckDB knows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError
from teal.compiler.typed_fields import EnvVar

SettingValue = str | int | float | bool
# settings that name a folder or file: relative to the project, as every path in its config
PATH_SETTINGS = frozenset({"temp_directory", "secret_directory", "extension_directory"})


@dataclass(frozen=True)
class DuckDBSettings:
    settings: dict[str, SettingValue] = field(default_factory=dict)
    extensions: tuple[str, ...] = ()
    # secret name -> its options (text, numbers, booleans, lists of text, or EnvVar)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.settings or self.extensions or self.secrets)


def _secret(where: str, name: str, table: object, display: str) -> dict[str, Any]:
    """One ``[duckdb.secrets.NAME]`` table: a ``type`` and options, ``{env = "VAR"}``
    values read as :class:`EnvVar`."""
    example = f'[{where}.{name}] type = "s3", key_id = {{ env = "KEY_ID" }}'
    if not isinstance(table, dict) or not isinstance(table.get("type"), str):
        raise ProjectError(
            f"{where}.{name} must be a table with a type", path=display, hint=example
        )
    if not name.replace("_", "a").isalnum():
        raise ProjectError(
            f"secret name {name!r} is not a plain name", path=display, hint="use letters, digits, _"
        )
    options: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str):
            value = EnvVar(value["env"])
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)
        elif not isinstance(value, str | int | float | bool):
            raise ProjectError(
                f"{where}.{name}.{key} must be text, a number, true/false, a list of text or "
                f'{{ env = "NAME" }}, got {value!r}',
                path=display,
                hint=example,
            )
        options[key.lower()] = value
    return options


def parse_duckdb_settings(
    tables: list[tuple[str, dict[str, Any]]], root: Path, display: str
) -> DuckDBSettings:
    """Merge ``[duckdb]`` tables, later ones winning (the project's, then the target's):
    ``tables`` is ``[(where, table)]`` with ``where`` such as ``duckdb`` for messages."""
    settings: dict[str, SettingValue] = {}
    extensions: list[str] = []
    secrets: dict[str, dict[str, Any]] = {}
    for where, table in tables:
        for key, value in table.items():
            if key == "secrets":
                if not isinstance(value, dict):
                    raise ProjectError(f"{where}.secrets must be a table of secrets", path=display)
                for name, spec in value.items():
                    secrets[name] = _secret(f"{where}.secrets", name, spec, display)
            elif key == "extensions":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ProjectError(
                        f"{where}.extensions must be a list of extension names, got {value!r}",
                        path=display,
                        hint='extensions = ["spatial", "httpfs"]',
                    )
                extensions += [v for v in value if v not in extensions]
            elif isinstance(value, str | int | float | bool):
                if key in PATH_SETTINGS and isinstance(value, str):
                    value = str((root / value).resolve())
                settings[key] = value
            else:
                raise ProjectError(
                    f"{where}.{key} must be text, a number or true/false, got {value!r}",
                    path=display,
                    hint='DuckDB settings take one value each, e.g. memory_limit = "4GB"',
                )
    return DuckDBSettings(settings, tuple(extensions), secrets)
