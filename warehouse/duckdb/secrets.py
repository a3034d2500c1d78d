"""DuckDB secrets of a project: object storage credentials for external locations and
sources on ``s3://``, ``gs://``, ``r2://`` or ``az://`` URLs, created on every connection
the engine opens (``CREATE TEMPORARY SECRET``: kept in memory, never in the warehouse
file). DuckDB's httpfs (or azure) extension provides the secret types and reads and
writes the URLs; it is loaded by DuckDB when a secret of its type is created.

Values written ``{ env = "NAME" }`` are :class:`~teal.compiler.typed_fields.EnvVar`: read
from the environment or the project's ``.env`` when the warehouse opens. Credential
values (EnvVars, and the literal values of credential options) are never written into a
message: an error about a secret names the secret and the variable, and the engine's
error messages pass through :func:`redactor`.

>>> sql, hidden = secret_sql("lake", {"type": "s3", "key_id": EnvVar("KEY"),
...     "secret": EnvVar("SECRET"), "use_ssl": False, "scope": "s3://lake"},
...     {"KEY": "AKIA1234", "SECRET": "s3cr3t-value"})
>>> print(sql)
CREATE OR REPLACE TEMPORARY SECRET lake (TYPE s3, KEY_ID 'AKIA1234', SECRET 's3cr3t-value', USE_SSL false, SCOPE 's3://lake')
>>> sorted(hidden)
['AKIA1234', 's3cr3t-value']
>>> redactor(hidden)("403 for key AKIA1234")
"403 for key <secret 'lake' value>"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from teal.compiler.errors import WarehouseError
from teal.compiler.typed_fields import EnvVar
from teal.warehouse.duckdb.sql import SQL, string_literal

# options whose value is a keyword, not text
_BARE = {"type", "provider", "url_style"}
# options holding credentials: their values are hidden even when written literally
CREDENTIALS = {
    "key_id",
    "secret",
    "session_token",
    "token",
    "password",
    "connection_string",
    "account_key",
    "client_secret",
    "access_token",
}
_KEYWORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIN_HIDDEN = 4  # shorter values are not searched for: they protect nothing


def secret_sql(
    name: str, options: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """The ``CREATE SECRET`` statement of one secret, and the values it must never show
    (value -> the secret's name)."""
    hidden: dict[str, str] = {}
    parts: list[str] = []
    for key, value in options.items():
        if isinstance(value, EnvVar):
            if value.name not in env:
                raise WarehouseError(
                    f"environment variable {value.name} is not set (secret '{name}', "
                    f"option '{key}')",
                    hint=f"export {value.name}=... or add it to .env in the project folder",
                )
            value = env[value.name]
            hidden[value] = name
        elif key in CREDENTIALS and isinstance(value, str):
            hidden[value] = name
        if key in _BARE and isinstance(value, str):
            if not _KEYWORD.match(value):
                raise WarehouseError(f"secret '{name}': {key} {value!r} is not a keyword")
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        elif isinstance(value, tuple):
            text = "[" + ", ".join(string_literal(v) for v in value) + "]"
        else:
            text = string_literal(str(value))
        parts.append(f"{key.upper()} {text}")
    return SQL.create_secret(name, parts), {v: n for v, n in hidden.items() if len(v) >= MIN_HIDDEN}


def redactor(hidden: Mapping[str, str]) -> Callable[[str], str]:
    """A function replacing each hidden value in a text by a mention of its secret."""
    ordered = sorted(hidden, key=len, reverse=True)

    def redact(text: str) -> str:
        for value in ordered:
            if value in text:
                text = text.replace(value, f"<secret '{hidden[value]}' value>")
        return text

    return redact


def create_secrets(
    conn: Any,
    secrets: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, str],
    config_file: str | None,
) -> dict[str, str]:
    """Create every secret on ``conn``; the values to hide from messages. A secret DuckDB
    refuses is an error naming it (its values hidden) and pointing at the project file."""
    import duckdb

    hidden: dict[str, str] = {}
    for name, options in secrets.items():
        try:
            sql, values = secret_sql(name, options, env)
        except WarehouseError as exc:
            raise WarehouseError(exc.message, path=config_file, hint=exc.hint) from None
        hidden.update(values)
        try:
            conn.execute(sql)
        except duckdb.Error as exc:
            message = redactor(hidden)(str(exc).strip().splitlines()[0])
            kind = options.get("type")
            raise WarehouseError(
                f"DuckDB secret '{name}' (type {kind}) could not be created: {message}",
                path=config_file,
                hint="object storage secrets need DuckDB's httpfs extension (azure: azure); "
                "install it where this machine can reach DuckDB's extension repository "
                "(INSTALL httpfs), or check the secret's options",
            ) from None
    return hidden
