"""``attach:`` in a dbt-duckdb profile target: other DuckDB databases attached to every
connection, readable as sources.

Each entry (``path``, optional ``alias`` (default: the file's stem), ``read_only``
(default false, as dbt-duckdb), ``type: duckdb``) becomes a teal source of kind ``duckdb``
named by its alias, which the warehouse attaches when it opens (warehouse/duckdb/engine.py);
a dbt source whose ``database:`` is the alias reads ``"alias"."schema"."table"``, as in
dbt-duckdb. Models still build into the target's own file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError, did_you_mean

KEYS = ("path", "alias", "read_only", "type")


@dataclass(frozen=True)
class Attachment:
    alias: str
    path: str  # absolute, or ":memory:" / a URL as written
    read_only: bool


def read_attachments(entries: tuple[Any, ...], root: Path, display: str) -> tuple[Attachment, ...]:
    """The target's ``attach:`` entries, checked; paths relative to the project folder."""
    found: list[Attachment] = []
    for entry in entries:
        line = getattr(entry, "line", None)
        if not isinstance(entry, dict) or not entry.get("path"):
            raise ProjectError(
                "every attach: entry needs a path",
                path=display,
                line=line,
                hint="attach:\n  - path: other.duckdb\n    alias: other",
            )
        for key in entry:
            if str(key) not in KEYS:
                raise ProjectError(
                    f"attach: option '{key}' is not supported by teal",
                    path=display,
                    line=line,
                    hint=did_you_mean(str(key), KEYS) or "teal reads path, alias, read_only, type",
                )
        kind = str(entry.get("type") or "duckdb").lower()
        if kind != "duckdb":
            raise ProjectError(
                f"attach: type '{kind}' is not supported by teal (only other DuckDB databases)",
                path=display,
                line=line,
                hint="copy the data into a DuckDB file, or read it as a source file",
            )
        raw = str(entry["path"])
        alias = str(entry.get("alias") or Path(raw).stem)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
            raise ProjectError(
                f"attach: alias {alias!r} is not a plain name",
                path=display,
                line=line,
                hint="set alias: to letters, digits and _",
            )
        path = raw if raw == ":memory:" or "://" in raw else str((root / raw).resolve())
        read_only = entry.get("read_only", False) is True
        if raw == ":memory:" and read_only:
            raise ProjectError(
                "an in-memory database cannot be attached read-only",
                path=display,
                line=line,
                hint="remove read_only: true",
            )
        found.append(Attachment(alias, path, read_only))
    return tuple(found)


def attached_sources(
    attachments: tuple[Attachment, ...], taken: set[str], display: str
) -> dict[str, Any]:
    """The attachments as teal sources of kind ``duckdb`` (``taken``: the dbt source names,
    which an alias must not repeat)."""
    from teal.compiler.sources import Source

    out: dict[str, Any] = {}
    for att in attachments:
        if att.alias in taken:
            raise ProjectError(
                f"attach: alias '{att.alias}' is also the name of a dbt source",
                path=display,
                hint="give the attachment another alias",
            )
        out[att.alias] = Source(
            name=att.alias,
            kind="duckdb",
            path=att.path,
            declared_in=display,
            read_only=att.read_only,
        )
    return out


def source_name_sql(info: dict[str, Any], attachments: tuple[Attachment, ...]) -> str:
    """How SQL names a dbt source table: ``"schema"."table"``, or with the database in front
    when it is in an attached database (as dbt-duckdb renders it)."""
    parts = [info["schema"], info["identifier"]]
    if any(a.alias == info["database"] for a in attachments):
        parts.insert(0, info["database"])
    return ".".join(f'"{p}"' for p in parts)
