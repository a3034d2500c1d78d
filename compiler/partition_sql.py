"""The SQL of partitioned models: filters with placeholders, filled in per partition.

A partitioned model is rendered and parsed once. Its SQL carries placeholders —
``partition.start`` in Jinja renders as ``__teal_partition_start__``, and the pushdown pass
wraps each partitioned upstream as ``(SELECT * FROM up WHERE col >= __teal_pw0_start__ AND
col < __teal_pw0_end__)`` — and :func:`fill` fills them in for one partition key (with the
values :func:`own_values` and :func:`pushdown_values` give).
Bare placeholders become typed literals (``TIMESTAMP '2026-01-05 00:00:00'``), quoted ones
(``'{{ partition.start }}'``) string literals.

>>> days = parse_partitions({"daily": {"start": "2026-01-01"}})
>>> fill("select * from t where ts >= __teal_partition_start__ and d = '__teal_partition_key__'",
...      own_values(days, "2026-01-05"))
"select * from t where ts >= TIMESTAMP '2026-01-05 00:00:00' and d = '2026-01-05'"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teal.compiler.errors import ProjectError
from teal.compiler.partitions import (
    AllPartitionsMapping,
    MultiPartitions,
    Partitions,
    StaticPartitions,
    TimePartitions,
    default_mapping,
    parse_mapping,
    parse_partitions,
    upstream_keys,
    upstream_window,
)
from teal.compiler.partitions.time import repeated_wall_time
from teal.compiler.sql import quote_identifier as _quote
from teal.compiler.sql import string_literal as _literal_string

__all__ = [
    "Pushdown",
    "fill",
    "own_filter",
    "own_values",
    "parse_partitions",
    "pushdown_values",
    "resolve_mapping",
    "timestamp_literal",
]

_PLACEHOLDER = re.compile(r"'?(__teal_(?:partition|pw\d+)_[a-z0-9_]*?__)'?")


@dataclass(frozen=True)
class Pushdown:
    """A partition filter the compiler added to one upstream scan."""

    index: int
    upstream: str  # model name or "source.table"
    mapping: str  # "identity", "lookback(3)", "time_window", ...


def timestamp_literal(value: datetime) -> str:
    """A window bound as a typed literal: the wall-clock time in the partitions' zone (the
    step runs with DuckDB's ``TimeZone`` set to it), or, for a wall time the autumn change
    repeats, the instant with its offset, so the two repeated hours' windows differ.

    >>> from zoneinfo import ZoneInfo
    >>> berlin = ZoneInfo("Europe/Berlin")
    >>> timestamp_literal(datetime(2025, 10, 26, 1, tzinfo=berlin))
    "TIMESTAMP '2025-10-26 01:00:00'"
    >>> timestamp_literal(datetime(2025, 10, 26, 2, fold=1, tzinfo=berlin))
    "TIMESTAMPTZ '2025-10-26 02:00:00+01:00'"
    """
    text = _wall_text(value)
    return ("TIMESTAMPTZ " if repeated_wall_time(value) else "TIMESTAMP ") + _literal_string(text)


def _wall_text(value: datetime) -> str:
    """``value``'s wall-clock time, with its offset when that wall time happens twice."""
    if repeated_wall_time(value):
        return value.isoformat(sep=" ")
    return value.replace(tzinfo=None).isoformat(sep=" ")


def _time_part(definition: Partitions) -> tuple[str | None, TimePartitions | None]:
    if isinstance(definition, TimePartitions):
        return None, definition
    if isinstance(definition, MultiPartitions):
        found = definition.time_dimension
        if found:
            return found
    return None, None


def _static_parts(definition: Partitions) -> list[tuple[str | None, StaticPartitions]]:
    if isinstance(definition, StaticPartitions):
        return [(None, definition)]
    if isinstance(definition, MultiPartitions):
        return [(n, d) for n, d in definition.dimensions if isinstance(d, StaticPartitions)]
    return []


def column_for(columns: str | dict[str, str] | None, dimension: str | None) -> str | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        return columns
    return columns.get(dimension or "") if dimension else None


def own_values(definition: Partitions, key: str) -> dict[str, tuple[str, str]]:
    """Placeholder -> (bare literal, quoted literal) for the model's own partition ``key``."""
    values: dict[str, tuple[str, str]] = {
        "__teal_partition_key__": (_literal_string(key), _literal_string(key))
    }
    if isinstance(definition, MultiPartitions):
        for name, part in definition.parse_key(key).items():
            values[f"__teal_partition_dim_{name}__"] = (
                _literal_string(part),
                _literal_string(part),
            )
    _, time_def = _time_part(definition)
    if time_def is not None:
        start, end = definition.window(key)
        for name, bound in (("start", start), ("end", end)):
            values[f"__teal_partition_{name}__"] = (
                timestamp_literal(bound),
                _literal_string(_wall_text(bound)),
            )
    return values


def own_filter(definition: Partitions, columns: str | dict[str, str] | None) -> str:
    """A SQL predicate with placeholders that selects one partition's rows of the model.

    >>> own_filter(parse_partitions({"daily": {"start": "2026-01-01"}}), "ordered_at")
    '"ordered_at" >= __teal_partition_start__ AND "ordered_at" < __teal_partition_end__'
    """
    parts: list[str] = []
    dim, time_def = _time_part(definition)
    if time_def is not None:
        col = column_for(columns, dim) if dim else column_for(columns, None)
        if col:
            q = _quote(col)
            parts.append(f"{q} >= __teal_partition_start__ AND {q} < __teal_partition_end__")
    for name, _ in _static_parts(definition):
        col = column_for(columns, name) if name else column_for(columns, None)
        if col:
            placeholder = f"__teal_partition_dim_{name}__" if name else "__teal_partition_key__"
            parts.append(f"{_quote(col)} = {placeholder}")
    return " AND ".join(parts)


def resolve_mapping(
    spec: Any,
    downstream: Partitions,
    upstream: Partitions | None,
    *,
    path: str | None = None,
    line: int | None = None,
) -> Any:
    if spec is None:
        return default_mapping(downstream, upstream)
    return parse_mapping(spec, path=path, line=line)


def pushdown_filter(
    index: int, upstream_def: Partitions, columns: str | dict[str, str] | None, mapping: Any
) -> str | None:
    """The predicate (with ``__teal_pw<index>_*`` placeholders) for an upstream scan, or None."""
    if isinstance(mapping, AllPartitionsMapping) or columns is None:
        return None
    parts: list[str] = []
    dim, time_def = _time_part(upstream_def)
    if time_def is not None:
        col = column_for(columns, dim)
        if col:
            q = _quote(col)
            parts.append(f"{q} >= __teal_pw{index}_start__ AND {q} < __teal_pw{index}_end__")
    for name, _ in _static_parts(upstream_def):
        col = column_for(columns, name)
        if col:
            parts.append(f"{_quote(col)} IN (__teal_pw{index}_in_{name or 'key'}__)")
    return " AND ".join(parts) or None


def pushdown_values(
    index: int, mapping: Any, downstream: Partitions, upstream: Partitions, key: str
) -> dict[str, tuple[str, str]]:
    """Values for one pushdown's placeholders when the model builds partition ``key``."""
    values: dict[str, tuple[str, str]] = {}
    window = upstream_window(mapping, downstream, upstream, key)
    if window is not None:
        start, end = window
        values[f"__teal_pw{index}_start__"] = (timestamp_literal(start), timestamp_literal(start))
        values[f"__teal_pw{index}_end__"] = (timestamp_literal(end), timestamp_literal(end))
    statics = _static_parts(upstream)
    if statics:
        keys = upstream_keys(mapping, downstream, upstream, key)
        for name, _ in statics:
            if isinstance(upstream, MultiPartitions):
                wanted = sorted({upstream.parse_key(k)[name] for k in keys})  # type: ignore[index]
            else:
                wanted = sorted(set(keys))
            listed = ", ".join(_literal_string(k) for k in wanted) or "NULL"
            values[f"__teal_pw{index}_in_{name or 'key'}__"] = (listed, listed)
    return values


def fill(sql: str, values: dict[str, tuple[str, str]]) -> str:
    """Replace placeholders: ``'ph'`` by the quoted form, bare ``ph`` by the typed literal."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        bare, quoted = values[name]
        whole = match.group(0)
        if whole.startswith("'") and whole.endswith("'"):
            return quoted
        prefix = "'" if whole.startswith("'") else ""
        suffix = "'" if whole.endswith("'") else ""
        return prefix + bare + suffix

    return _PLACEHOLDER.sub(replace, sql)


def sample_key(definition: Partitions) -> str:
    """A key of ``definition`` to fill a model's SQL with when only its shape matters
    (typing it): the first time window, the first static key; a dynamic set without keys
    yet gets a stand-in (its key is only ever a string literal).

    >>> sample_key(parse_partitions({"daily": {"start": "2026-01-01"}}))
    '2026-01-01'
    >>> sample_key(parse_partitions({"date": {"daily": "2026-01-01"}, "region": ["eu", "us"]}))
    '2026-01-01|eu'
    """
    if isinstance(definition, TimePartitions) and isinstance(definition.start, datetime):
        return definition.key_for(definition.start)  # a datetime once the definition is made
    if isinstance(definition, MultiPartitions):
        return definition.make_key({n: sample_key(d) for n, d in definition.dimensions})
    found = tuple(getattr(definition, "partition_keys", ()))  # static, dynamic
    return found[0] if found else "sample"


def has_placeholders(sql: str | None) -> bool:
    return bool(sql) and "__teal_p" in sql  # type: ignore[operator]


def check_partition_column(
    definition: Partitions, columns: Any, *, path: str, line: int | None
) -> None:
    """A partitioned model names the column(s) holding its partition."""
    if columns is None:
        raise ProjectError(
            "a partitioned model needs partition_column",
            path=path,
            line=line,
            hint="add partition_column='order_date' beside partitioned_by: the column "
            "whose value places a row in a partition",
        )
    if isinstance(definition, MultiPartitions):
        if not isinstance(columns, dict) or set(columns) != set(definition.names):
            raise ProjectError(
                "a two-dimensional partitioned model needs one partition column per dimension",
                path=path,
                line=line,
                hint="partition_column={"
                + ", ".join(f"'{n}': '...'" for n in definition.names)
                + "}",
            )
