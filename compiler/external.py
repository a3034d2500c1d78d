"""Where a model's data lives when it is not a table in the warehouse file.

``materialized='external'`` writes a model as Parquet, CSV or JSON files (dbt-duckdb's
``external``), and a Python asset may pick an I/O manager instead (Dagster's): the
built-in ``parquet``, ``csv`` and ``json`` managers are the same external files, and a
declared resource that subclasses ``teal.IOManager`` saves and loads the asset's data
itself. ``warehouse`` (the default) keeps a table in the DuckDB file.

What a model's config settles to is an :class:`ExternalSpec`: the rendered location (an
absolute path or a URL), the format, the compression, the ``partition_by`` columns and
whether the location names one file or a folder. The compiler only reads config; writing
the files, the view over them and the atomic move are the engine's
(``teal.warehouse.files``, ``teal.warehouse.duckdb.external``).

>>> spec = settle_external(
...     {"materialized": "external", "partition_by": ["region"]},
...     ExternalDefaults(root="/lake"), schema="marts", name="sales", model="sales",
...     path="m.sql")
>>> spec.location, spec.single_file, spec.extension
('/lake/marts/sales', False, '.parquet')
>>> settle_external({"materialized": "external", "format": "csv", "compression": "gzip"},
...     ExternalDefaults(root="s3://bucket/prod"), schema="marts", name="x", model="x",
...     path="m.sql").location
's3://bucket/prod/marts/x.csv.gz'
>>> key_path("2025-01-05-13:00|Southern Europe")
'2025-01-05-13%3A00/Southern Europe'
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.toml_lines import key_line, table_line

FORMATS = ("parquet", "csv", "json")
# what DuckDB's COPY accepts per format (None: DuckDB's default, snappy for Parquet)
COMPRESSIONS: dict[str, tuple[str, ...]] = {
    "parquet": ("snappy", "zstd", "gzip", "lz4", "brotli", "uncompressed"),
    "csv": ("gzip", "zstd", "none"),
    "json": ("gzip", "zstd", "none"),
}
_SUFFIXES = {"parquet": ".parquet", "csv": ".csv", "json": ".json"}
_COMPRESSED = {"gzip": ".gz", "zstd": ".zst"}
# a location whose last segment ends so names one file, not a folder
_FILE_SUFFIX = re.compile(r"\.(parquet|pq|csv|tsv|json|ndjson|jsonl)(\.(gz|zst))?$", re.IGNORECASE)
# I/O managers every project has; any other name is a declared resource (teal.IOManager)
BUILTIN_IO_MANAGERS = ("warehouse", "parquet", "csv", "json")
DEFAULT_ROOT = "external"
_TEMPLATE_FIELDS = ("root", "schema", "name", "model", "format")
# characters Hive escapes in partition folder names (and the glob characters among them)
_ESCAPED = set("\"#%'*/:=?\\{}[]^") | {chr(c) for c in range(32)} | {"\x7f"}
MULTI_SEPARATOR = "|"


def is_url(location: str) -> bool:
    """A URL (``s3://``, ``gs://``, ``https://``, ``file://``...): written the way object
    storage is, since a URL promises no rename.

    >>> is_url("s3://bucket/x"), is_url("/tmp/x"), is_url("C:/x")
    (True, False, False)
    """
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", location) is not None


@dataclass(frozen=True)
class ExternalDefaults:
    """``[tool.teal.external]``: where external models go unless they say (``root``, a
    folder or a URL; a target's ``external_root`` replaces it), and their default format
    and compression."""

    root: str = DEFAULT_ROOT
    format: str = "parquet"
    compression: str | None = None


@dataclass(frozen=True)
class ExternalSpec:
    """Where and how one external model is written."""

    location: str  # an absolute local path or a URL
    format: str  # parquet | csv | json
    compression: str | None = None
    partition_by: tuple[str, ...] = ()  # hive-style folders by these columns
    single_file: bool = False  # the location is one file (else a folder of files)

    @property
    def remote(self) -> bool:
        return is_url(self.location)

    @property
    def extension(self) -> str:
        """The data files' suffix: ``.parquet``, ``.csv.gz``, ..."""
        suffix = _SUFFIXES[self.format]
        if self.format != "parquet" and self.compression in _COMPRESSED:
            suffix += _COMPRESSED[self.compression]
        return suffix

    def describe(self) -> str:
        extra = f", partition_by {', '.join(self.partition_by)}" if self.partition_by else ""
        packed = f", {self.compression}" if self.compression else ""
        return f"{self.format}{packed} at {self.location}{extra}"


def key_path(key: str) -> str:
    """The folder (relative to the location) of partition ``key``: one segment per
    dimension, the characters Hive escapes written ``%XX``, and a key of dots alone (``.``,
    ``..``: a dynamic key a landed file's name gave) too, as its folder would otherwise be
    the location itself or its parent, which a partition's rewrite replaces whole.

    >>> key_path("2025-01-05"), key_path("a/b"), key_path(".."), key_path("v1.2")
    ('2025-01-05', 'a%2Fb', '%2E%2E', 'v1.2')
    """
    return "/".join(_segment(part) for part in key.split(MULTI_SEPARATOR))


def _segment(part: str) -> str:
    if part in (".", ".."):
        return "%2E" * len(part)
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in part) or "%00"


def parse_external_defaults(
    raw: object,
    target_root: str | None,
    root: Path,
    display: str,
    config_path: Path | None = None,
) -> ExternalDefaults:
    """``[tool.teal.external]`` (root, format, compression), with a target's
    ``external_root`` over the project's; a relative root is under the project folder."""
    table = raw if isinstance(raw, dict) else {}
    if raw is not None and not isinstance(raw, dict):
        raise ProjectError(
            "project setting 'external' must be a table",
            path=display,
            hint='[tool.teal.external] root = "lake"',
        )
    unknown = sorted(set(table) - {"root", "format", "compression"})
    if unknown:
        raise ProjectError(
            f"unknown key '{unknown[0]}' in external",
            path=display,
            line=table_line(config_path, "external", unknown[0]) if config_path else None,
            hint=did_you_mean(unknown[0], ["root", "format", "compression"])
            or "external takes root, format and compression",
        )

    def line(key: str) -> int | None:
        return table_line(config_path, "external", key) if config_path else None

    where = target_root if target_root is not None else table.get("root", DEFAULT_ROOT)
    if not isinstance(where, str) or not where:
        raise ProjectError(
            f"external root must be a folder or a URL, got {where!r}",
            path=display,
            line=line("root") if target_root is None else None,
            hint='root = "lake" (under the project folder) or "s3://bucket/prefix"',
        )
    fmt = table.get("format", "parquet")
    _check_format(fmt, display, line("format"))
    compression = table.get("compression")
    _check_compression(fmt, compression, display, line("compression"))
    location = where if is_url(where) else str((root / where).resolve())
    return ExternalDefaults(location.rstrip("/") or "/", fmt, compression)


def check_io_manager(
    name: str | None, resources: dict[str, Any], config_path: Path, target: str | None
) -> str | None:
    """The project's (or the target ``targets.<target>``'s) default I/O manager ``name``,
    checked when the project file is read: a name that is neither built in nor a declared
    resource is an error at its line, also in a project with no Python asset to use it."""
    if name is None or name in BUILTIN_IO_MANAGERS or name in resources:
        return name
    where = table_line(config_path, target, "io_manager") if target else None
    raise ProjectError(
        f"io_manager {name!r} is neither a built-in I/O manager nor a declared resource",
        path=config_path.name,
        line=where or key_line(config_path, "io_manager"),
        hint=did_you_mean(name, [*BUILTIN_IO_MANAGERS, *resources])
        or "use warehouse, parquet, csv or json, or declare "
        f"[resources.{name}] with a teal.IOManager class",
    )


def _check_format(fmt: object, path: str, line: int | None) -> None:
    if fmt not in FORMATS:
        raise ProjectError(
            f"format={fmt!r} is not a file format teal writes",
            path=path,
            line=line,
            hint=did_you_mean(str(fmt), FORMATS) or "use one of " + ", ".join(FORMATS),
        )


def _check_compression(fmt: str, compression: object, path: str, line: int | None) -> None:
    if compression is None:
        return
    allowed = COMPRESSIONS[fmt]
    if compression not in allowed:
        raise ProjectError(
            f"compression={compression!r} is not one DuckDB writes {fmt} with",
            path=path,
            line=line,
            hint=did_you_mean(str(compression), allowed) or "use one of " + ", ".join(allowed),
        )


def settle_external(
    conf: dict[str, Any],
    defaults: ExternalDefaults,
    *,
    schema: str,
    name: str,
    model: str,
    path: str,
    line: int | None = None,
    partitioned: bool = False,
) -> ExternalSpec:
    """The :class:`ExternalSpec` of a model whose settled ``conf`` is external."""
    for key in ("incremental_strategy", "unique_key"):
        if conf.get(key):
            raise ProjectError(
                f"an external model is written whole (or one partition at a time), so "
                f"{key} does not apply",
                path=path,
                line=line,
                hint="drop it, or partition the model to rebuild one folder at a time",
            )
    fmt = conf.get("format") or defaults.format
    _check_format(fmt, path, line)
    compression = conf.get("compression")
    if compression is None and fmt == defaults.format:
        compression = defaults.compression
    _check_compression(fmt, compression, path, line)
    by = conf.get("partition_by") or ()
    partition_by = (by,) if isinstance(by, str) else tuple(by)
    if not all(isinstance(c, str) and c for c in partition_by):
        raise ProjectError(
            f"partition_by must be a column name or a list of them, got {by!r}",
            path=path,
            line=line,
        )
    spec = ExternalSpec("", fmt, compression, partition_by)
    template = conf.get("location")
    if template is None:
        template = "{root}/{schema}/{name}"
        if not partition_by and not partitioned:
            template += spec.extension
    values = {"root": defaults.root, "schema": schema, "name": name, "model": model}
    values["format"] = fmt
    _check_segments(values, path, line)
    try:
        rendered = str(template).format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ProjectError(
            f"location {template!r} cannot be filled in: {exc}",
            path=path,
            line=line,
            hint="it may use " + ", ".join("{" + f + "}" for f in _TEMPLATE_FIELDS),
        ) from None
    location = _absolute(rendered, defaults.root)
    single = _FILE_SUFFIX.search(location.rstrip("/")) is not None and not location.endswith("/")
    if single and (partitioned or partition_by):
        raise ProjectError(
            f"location {rendered!r} names one file, but the model is written in "
            + ("partitions" if partitioned else "folders by partition_by"),
            path=path,
            line=line,
            hint="give a folder, e.g. location='{root}/{schema}/{name}'",
        )
    return ExternalSpec(location.rstrip("/"), fmt, compression, partition_by, single)


def _check_segments(values: dict[str, str], path: str, line: int | None) -> None:
    """A schema, relation or model name fills in one folder or file name of the location:
    one holding a path separator or being ``.`` or ``..`` (a Python asset named
    ``../../x``) would write its files outside the external root, or over its parent."""
    for field_name, what in (("schema", "schema"), ("name", "relation"), ("model", "model")):
        value = values[field_name]
        if value in (".", "..") or "/" in value or "\\" in value or "\0" in value:
            raise ProjectError(
                f"the {what} name {value!r} cannot name a folder of an external location",
                path=path,
                line=line,
                hint="give it a name without '/' or '\\', and other than '.' or '..'",
            )


def _absolute(location: str, root: str) -> str:
    """A relative location is under the external root (a folder or a URL)."""
    if is_url(location) or Path(location).is_absolute():
        return location
    if is_url(root):
        return posixpath.join(root, location)
    return str(Path(root, location).resolve())


def check_locations(specs: dict[str, tuple[ExternalSpec, str, int | None]]) -> None:
    """Two external models writing one location, or one inside the other's folder, would
    read and replace each other's files: an error naming both."""
    seen = sorted(
        ((spec.location.rstrip("/") + ("" if spec.single_file else "/"), name, where, line))
        for name, (spec, where, line) in specs.items()
    )
    for (a, a_name, _, _), (b, b_name, b_where, b_line) in zip(seen, seen[1:]):
        if a == b or (a.endswith("/") and b.startswith(a)):
            raise ProjectError(
                f"external models '{a_name}' and '{b_name}' write "
                + ("the same location" if a == b else "one inside the other's folder")
                + f" ({a.rstrip('/')})",
                path=b_where,
                line=b_line,
                hint="give one of them its own location",
            )


def check_partition_by(
    spec: ExternalSpec, columns: tuple[str, ...] | None, path: str, line: int | None
) -> None:
    """``partition_by`` names output columns, and leaves at least one in the files."""
    if not spec.partition_by or columns is None:
        return
    known = {c.lower() for c in columns}
    for column in spec.partition_by:
        if column.lower() not in known:
            raise ProjectError(
                f"partition_by column '{column}' is not a column of the model",
                path=path,
                line=line,
                hint=did_you_mean(column, columns) or "its columns: " + ", ".join(columns),
            )
    if known <= {c.lower() for c in spec.partition_by}:
        raise ProjectError(
            "partition_by takes every column of the model, so its files would hold none",
            path=path,
            line=line,
        )
