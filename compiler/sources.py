"""Sources: tables teal reads but does not build.

Declared in project config (``[sources.<name>]``) or in YAML beside the models (the dbt
shape ``sources: [{name, tables: [...]}]``). Kinds:

- ``warehouse`` (default without a path): tables already in the warehouse, in schema
  ``schema`` (default: the source name), as dbt-duckdb sources are.
- ``duckdb``: another DuckDB file, attached read-only under the source name.
- ``parquet`` / ``csv`` / ``json``: files; ``path`` may contain ``{table}``; a table may
  give its own ``path``. Globs are allowed.

Models refer to a source table as ``<source>.<table>`` or ``{{ source('<source>', '<table>') }}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ProjectError, did_you_mean

if TYPE_CHECKING:
    from sqlglot import exp

SOURCE_KINDS = ("warehouse", "duckdb", "parquet", "csv", "json")
SOURCE_KEYS = {
    "name",
    "type",
    "path",
    "schema",
    "tables",
    "description",
    "meta",
    "database",
    "loader",
    "freshness",
    "loaded_at_field",
    "tags",
    "config",
    "partitioned_by",
    "partition_column",
}
TABLE_KEYS = {
    "name",
    "path",
    "identifier",
    "description",
    "columns",
    "meta",
    "tags",
    "tests",
    "checks",
    "config",
    "freshness",
    "loaded_at_field",
    "partitioned_by",
    "partition_column",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SourceTable:
    source: str
    name: str
    kind: str
    location: str  # schema.table, catalog.schema.table, or an absolute file path/glob
    description: str = ""
    partitions: Any = None  # compiler.partitions definition, when the table is partitioned
    partition_column: Any = None
    # dbt's source freshness: ((severity, count, period), ...) with severity warn or error,
    # and the column holding when each row was loaded (runtime/freshness.py)
    freshness: tuple[tuple[str, int, str], ...] = ()
    loaded_at_field: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}.{self.name}"


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    path: str | None
    tables: dict[str, SourceTable] = field(default_factory=dict)
    declared_in: str = ""
    line: int | None = None
    # kind duckdb: attached read-only (teal's sources), or writable (a dbt profile's
    # attach: entry without read_only, as dbt-duckdb attaches it)
    read_only: bool = True


def parse_source(
    name: str,
    spec: dict[str, Any],
    *,
    root: Path,
    declared_in: str,
    line: int | None = None,
    key_line: Callable[[str], int | None] | None = None,
) -> Source:
    """Validate one source declaration and resolve its table locations; ``key_line(key)``
    finds the line of one of its keys, for messages."""

    def fail(message: str, hint: str | None = None, key: str | None = None) -> ProjectError:
        at = key_line(key) if key is not None and key_line is not None else None
        return ProjectError(message, path=declared_in, line=at or line, hint=hint)

    if not _IDENT.match(name or ""):
        raise fail(f"source name {name!r} must be a plain identifier")
    for key in spec:
        if key not in SOURCE_KEYS:
            raise fail(
                f"unknown key '{key}' in source '{name}'",
                did_you_mean(key, SOURCE_KEYS) or "known: " + ", ".join(sorted(SOURCE_KEYS)),
                key=key,
            )
    path = spec.get("path")
    kind = spec.get("type") or ("warehouse" if path is None else _guess_kind(str(path)))
    if kind not in SOURCE_KINDS:
        raise fail(
            f"source '{name}' has unknown type {kind!r}",
            did_you_mean(kind, SOURCE_KINDS) or "use one of " + ", ".join(SOURCE_KINDS),
        )
    if kind != "warehouse" and not path:
        raise fail(f"source '{name}' of type {kind} needs a path")
    raw_tables = spec.get("tables") or []
    if not isinstance(raw_tables, list) or not raw_tables:
        raise fail(
            f"source '{name}' must list its tables",
            "tables: [orders, customers] or tables: [{name: orders, path: ...}]",
        )
    schema = spec.get("schema") or (name if kind == "warehouse" else "main")
    tables: dict[str, SourceTable] = {}
    for item in raw_tables:
        tspec = {"name": item} if isinstance(item, str) else item
        if not isinstance(tspec, dict) or not tspec.get("name"):
            raise fail(f"every table of source '{name}' needs a name")
        for key in tspec:
            if key not in TABLE_KEYS:
                at = getattr(tspec, "keys_at", {}).get(str(key), (None, None))[0]
                raise ProjectError(
                    f"unknown key '{key}' in table '{tspec['name']}' of source '{name}'",
                    path=declared_in,
                    line=at or getattr(tspec, "line", None) or line,
                    hint=did_you_mean(key, TABLE_KEYS),
                )
        tname = str(tspec["name"])
        ident = str(tspec.get("identifier") or tname)
        if kind == "warehouse":
            location = f"{schema}.{ident}"
        elif kind == "duckdb":
            location = f"{name}.{schema}.{ident}"
        else:
            tpath = str(tspec.get("path") or path)
            tpath = tpath.replace("{table}", ident).replace("{name}", ident)
            location = _absolute(root, tpath) if not _is_url(tpath) else tpath
        partitions = None
        spec_parts = tspec.get("partitioned_by", spec.get("partitioned_by"))
        column = tspec.get("partition_column", spec.get("partition_column"))
        if spec_parts is not None:
            from teal.compiler.partition_sql import check_partition_column, parse_partitions

            at = (key_line("partitioned_by") if key_line is not None else None) or line
            partitions = parse_partitions(spec_parts, path=declared_in, line=at)
            if partitions is not None:
                check_partition_column(partitions, column, path=declared_in, line=at)
        # a table's own freshness wins over its source's, and `freshness: null` turns it off
        fresh_spec = tspec["freshness"] if "freshness" in tspec else spec.get("freshness")
        loaded_at = tspec.get("loaded_at_field", spec.get("loaded_at_field"))
        freshness = _freshness(fresh_spec, fail)
        if freshness and not loaded_at:
            raise fail(
                f"source table {name}.{tname} has freshness but no loaded_at_field",
                "loaded_at_field: the column holding when each row was loaded, e.g. _loaded_at",
            )
        tables[tname.lower()] = SourceTable(
            source=name,
            name=tname,
            kind=kind,
            location=location,
            description=str(tspec.get("description") or ""),
            partitions=partitions,
            partition_column=column,
            freshness=freshness,
            loaded_at_field=str(loaded_at) if loaded_at else None,
        )
    resolved_path = None
    if path is not None:
        resolved_path = str(path) if _is_url(str(path)) else _absolute(root, str(path))
    return Source(
        name=name, kind=kind, path=resolved_path, tables=tables, declared_in=declared_in, line=line
    )


FRESHNESS_PERIODS = ("minute", "hour", "day")


def _freshness(spec: Any, fail: Any) -> tuple[tuple[str, int, str], ...]:
    """dbt's ``freshness: {warn_after: {count: 12, period: hour}, error_after: ...}``."""
    if spec is None:
        return ()
    example = (
        "freshness: {warn_after: {count: 12, period: hour}, error_after: {count: 24, period: hour}}"
    )
    if not isinstance(spec, dict) or set(spec) - {"warn_after", "error_after"}:
        raise fail("freshness takes warn_after and error_after", example)
    found = []
    for key in ("warn_after", "error_after"):
        after = spec.get(key)
        if after is None:
            continue
        count, period = (
            (after.get("count"), after.get("period")) if isinstance(after, dict) else (None, None)
        )
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or count <= 0
            or period not in FRESHNESS_PERIODS
        ):
            raise fail(
                f"freshness {key} needs a positive count and a period (minute, hour or day)",
                example,
            )
        found.append((key.removesuffix("_after"), count, str(period)))
    return tuple(found)


def _is_url(path: str) -> bool:
    return "://" in path


def _guess_kind(path: str) -> str:
    lower = path.lower()
    for ext, kind in (
        (".duckdb", "duckdb"),
        (".db", "duckdb"),
        (".parquet", "parquet"),
        (".csv", "csv"),
        (".tsv", "csv"),
        (".json", "json"),
        (".jsonl", "json"),
        (".ndjson", "json"),
    ):
        if ext in lower:
            return kind
    return "parquet"


FILE_KINDS = ("parquet", "csv", "json")  # sources read from files, by scan_expression
# the DuckDB function that reads each kind of file source (scan_text writes its call)
READERS = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json_auto"}
SQL_DIALECT = "duckdb"  # the dialect models are written and compiled in


def scan_expression(table: SourceTable) -> exp.Func:
    """What reads a file source table, as an expression (each engine's dialect renders it).

    >>> t = SourceTable("raw", "orders", "csv", "/data/orders.csv")
    >>> scan_expression(t).sql("duckdb")
    "READ_CSV('/data/orders.csv')"
    """
    from sqlglot import exp

    path = exp.Literal.string(table.location)
    if table.kind == "csv":
        return exp.ReadCSV(this=path)
    if table.kind == "parquet":
        return exp.ReadParquet(expressions=[path])
    if table.kind == "json":  # sqlglot has no JSON reader expression: DuckDB's function
        return exp.Anonymous(this="read_json_auto", expressions=[path])
    raise ValueError(f"source table {table.key} is not a file ({table.kind})")


def scan_text(table: SourceTable) -> str:
    """:func:`scan_expression` as text, for splicing into a model's SQL as written.

    >>> scan_text(SourceTable("raw", "events", "json", "/data/it's.json"))
    "read_json_auto('/data/it''s.json')"
    """
    # written out, not generated: a warm compile then never imports sqlglot (the
    # property test in tests/test_sources_scan.py holds it to scan_expression's text)
    if table.kind not in READERS:
        raise ValueError(f"source table {table.key} is not a file ({table.kind})")
    quoted = table.location.replace("'", "''")
    return f"{READERS[table.kind]}('{quoted}')"


def _absolute(root: Path, path: str) -> str:
    """An absolute path that keeps symbolic links: a source pointing at ``data/current``
    reads whatever that link points to when the build runs, not when it was compiled."""
    return os.path.abspath(root / path)
