"""Reading partition definitions as users write them (``config(partitioned_by=...)``, YAML,
decorator arguments) into definition objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from teal.compiler.errors import did_you_mean
from teal.compiler.partitions.common import (
    GRAINS,
    TIME_OPTIONS,
    PartitionDefinitionError,
    hint_or,
)
from teal.compiler.partitions.dynamic import DynamicPartitions
from teal.compiler.partitions.multi import MultiPartitions, Partitions
from teal.compiler.partitions.static import StaticPartitions
from teal.compiler.partitions.time import TimePartitions

_OPTION_ALIASES = {"start_date": "start", "end_date": "end"}  # Dagster's spellings
_EXAMPLE_SPEC = '{"daily": {"start": "2025-01-01"}}'


def parse_partitions(
    spec: Any, *, path: str | None = None, line: int | None = None
) -> Partitions | None:
    """The definition a user wrote in ``partitioned_by=...`` (None stays None: unpartitioned).

    Accepted shapes: ``{"daily": {"start": ..., "end": ..., "timezone": ...}}``,
    ``{"daily": "2025-01-01"}`` (just a start), ``{"type": "daily", "start": ...}``,
    ``["eu", "us"]``, ``{"static": ["eu", "us"]}``, a mapping of exactly two named
    dimensions (``{"date": {...}, "region": [...]}``), or a definition object. Options:
    ``start`` (required), ``end``, ``timezone``, ``fmt``, ``end_offset``, ``week_start``
    (Dagster's ``start_date``/``end_date`` are read as ``start``/``end``).

    >>> parse_partitions({"type": "hourly", "start": "2025-03-30", "timezone": "Europe/Berlin"}).describe()
    'hourly from 2025-03-30-00:00, Europe/Berlin'
    >>> try:
    ...     parse_partitions({"dayly": {"start": "2025-01-01"}}, path="models/orders.sql", line=1)
    ... except PartitionDefinitionError as exc:
    ...     print(exc)
    models/orders.sql:1: unknown partition type 'dayly'
      hint: did you mean 'daily'?
    """
    try:
        return _parse_spec(spec, nested=False)
    except PartitionDefinitionError as exc:
        if path is None and line is None:
            raise
        located = PartitionDefinitionError(
            exc.message, path=path, line=line, col=exc.col, hint=exc.hint
        )
        located.written = exc.written
        raise located from None


def _parse_spec(spec: Any, *, nested: bool) -> Partitions | None:
    if spec is None or isinstance(spec, (TimePartitions, StaticPartitions, MultiPartitions)):
        if nested and isinstance(spec, MultiPartitions):
            raise PartitionDefinitionError(
                "partition dimensions cannot be nested",
                hint="a dimension is time or static partitions",
            )
        return spec
    if isinstance(spec, str):
        if spec in GRAINS:
            raise PartitionDefinitionError(
                f"{spec} partitions need a start",
                hint=f'write {{"{spec}": {{"start": "2025-01-01"}}}}',
            )
        if spec == "static":
            raise PartitionDefinitionError(
                "static partitions need their keys",
                hint='write ["eu", "us"] or {"static": ["eu", "us"]}',
            )
        raise _unknown_type(spec)
    if isinstance(spec, (list, tuple)):
        return StaticPartitions(tuple(_static_key(k) for k in spec))
    if not isinstance(spec, Mapping):
        raise PartitionDefinitionError(
            f"partitioned_by must be a grain with a start, a list of keys or two dimensions, got {spec!r}",
            hint=f"for example {_EXAMPLE_SPEC}",
        )
    for kind_key in ("type", "grain"):
        if kind_key in spec:
            options = {k: v for k, v in spec.items() if k != kind_key}
            return _single(spec[kind_key], options)
    if len(spec) == 1:
        ((kind, value),) = spec.items()
        if kind == "dynamic":
            return _dynamic(value, nested=nested)
        if kind in GRAINS or kind == "static":
            if isinstance(value, Mapping):
                return _single(kind, dict(value))
            if kind == "static":
                return _single(kind, {"keys": value})
            return _single(kind, {"start": value})
        if kind in TIME_OPTIONS or kind in _OPTION_ALIASES or kind == "keys":
            raise _missing_type(spec)
        error = _unknown_type(kind)
        if error.hint is None:
            error.hint = "a two-dimensional definition names two dimensions"
        raise error
    if any(k in TIME_OPTIONS or k in _OPTION_ALIASES for k in spec):
        raise _missing_type(spec)
    if nested:
        raise PartitionDefinitionError(
            "partition dimensions cannot be nested",
            hint="a dimension is a time grain with a start or a list of keys",
        )
    dims: list[tuple[Any, Any]] = []  # MultiPartitions checks names and definitions
    for name, value in spec.items():
        try:
            dims.append((name, _parse_spec(value, nested=True)))
        except PartitionDefinitionError as exc:
            named = PartitionDefinitionError(
                f"partition dimension '{name}': {exc.message}", hint=exc.hint
            )
            named.written = exc.written
            raise named from None
    return MultiPartitions(tuple(dims))


def _single(kind: Any, options: dict[str, Any]) -> TimePartitions | StaticPartitions:
    if kind == "static":
        unknown = [k for k in options if k != "keys"]
        if unknown or "keys" not in options:
            raise PartitionDefinitionError(
                "static partitions take only 'keys'"
                if unknown
                else "static partitions need 'keys'",
                hint=hint_or(
                    did_you_mean(str(unknown[0]), ["keys"]) if unknown else None,
                    'write {"static": ["eu", "us"]}',
                ),
            )
        keys = options["keys"]
        if not isinstance(keys, (list, tuple)):
            raise PartitionDefinitionError(
                f"static partition keys must be a list, got {keys!r}",
                hint='write {"static": ["eu", "us"]}',
            )
        return StaticPartitions(tuple(_static_key(k) for k in keys))
    if kind not in GRAINS:
        raise _unknown_type(kind)
    options = {_OPTION_ALIASES.get(k, k): v for k, v in options.items()}
    for option in options:
        if option not in TIME_OPTIONS:
            raise PartitionDefinitionError(
                f"unknown option '{option}' for {kind} partitions",
                hint=hint_or(
                    did_you_mean(str(option), TIME_OPTIONS),
                    f"options are {', '.join(TIME_OPTIONS)}",
                ),
            )
    if "start" not in options:
        raise PartitionDefinitionError(
            f"{kind} partitions need a start", hint=f'write {{"{kind}": {{"start": "2025-01-01"}}}}'
        )
    return TimePartitions(kind, **options)


def _dynamic(name: Any, *, nested: bool) -> DynamicPartitions:
    if nested:
        raise PartitionDefinitionError(
            "dynamic partitions cannot be a dimension of two-dimensional partitions",
            hint='partition by the dynamic set alone: {"dynamic": "regions"}',
        )
    if not isinstance(name, str):
        raise PartitionDefinitionError(
            f"dynamic partitions are named by a string, got {name!r}",
            hint='write {"dynamic": "regions"}',
        )
    return DynamicPartitions(name=name)


def _static_key(key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)  # YAML reads [2024, 2025] as numbers
    if not isinstance(key, str):
        raise PartitionDefinitionError(
            f"static partition keys are strings, got {key!r}", hint=f"quote it: '{key}'"
        )
    return key


def _unknown_type(kind: Any) -> PartitionDefinitionError:
    error = PartitionDefinitionError(
        f"unknown partition type {str(kind)!r}",
        hint=did_you_mean(str(kind), GRAINS + ("static", "dynamic")),
    )
    error.written = str(kind)
    return error


def _missing_type(spec: Mapping) -> PartitionDefinitionError:
    return PartitionDefinitionError(
        f"partitioned_by has options ({', '.join(map(str, spec))}) but no grain",
        hint=f'add "type": "daily" (or hourly, weekly, monthly), or write {_EXAMPLE_SPEC}',
    )
