"""Two-dimensional partitions: the cross product of a time or static dimension and a
static one, keys joined with ``|``."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from teal.compiler.errors import did_you_mean
from teal.compiler.partitions.common import (
    MULTI_SEPARATOR,
    PartitionDefinitionError,
    PartitionKeyError,
    hint_or,
    no_time,
)
from teal.compiler.partitions.static import StaticPartitions
from teal.compiler.partitions.time import TimePartitions

_DIMENSION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class MultiPartitions:
    """The cross product of two named dimensions, at most one of them time-based.

    Keys join the dimension keys in declared order with ``|``: ``"2026-01-05|eu"``. Keys are
    ordered (by :meth:`keys`, :meth:`range`, :meth:`next_key`) time dimension first, then
    the other (so the inner dimension is always finite); :meth:`range` is the box between
    two keys.

    >>> grid = MultiPartitions({"date": TimePartitions("daily", "2026-01-05", end="2026-01-08"),
    ...                         "region": StaticPartitions(("eu", "us"))})
    >>> grid.range("2026-01-05|us", "2026-01-06|us")
    ['2026-01-05|us', '2026-01-06|us']
    >>> grid.next_key("2026-01-05|us"), grid.make_key({"region": "eu", "date": "2026-01-07"})
    ('2026-01-06|eu', '2026-01-07|eu')
    >>> grid.window_utc("2026-01-06|eu")
    (datetime.datetime(2026, 1, 6, 0, 0), datetime.datetime(2026, 1, 7, 0, 0))
    """

    dimensions: tuple[tuple[str, TimePartitions | StaticPartitions], ...]

    def __post_init__(self) -> None:
        given: Any = self.dimensions  # a mapping or pairs, checked below
        dims: tuple[Any, ...] = (
            tuple(given.items()) if isinstance(given, Mapping) else tuple(tuple(d) for d in given)
        )
        if len(dims) != 2:
            names = ", ".join(str(d[0]) for d in dims)
            raise PartitionDefinitionError(
                f"multi-dimensional partitions need exactly two dimensions, got {len(dims)}"
                + (f" ({names})" if names else ""),
                hint='for example {"date": {"type": "daily", "start": "2025-01-01"}, "region": ["eu", "us"]}',
            )
        for name, definition in dims:
            if not isinstance(name, str) or not _DIMENSION_NAME.match(name):
                raise PartitionDefinitionError(
                    f"partition dimension name {name!r} is not an identifier",
                    hint="use letters, digits and underscores, e.g. 'date'",
                )
            if not isinstance(definition, (TimePartitions, StaticPartitions)):
                raise PartitionDefinitionError(
                    f"partition dimension '{name}' must be time or static partitions, "
                    f"got {type(definition).__name__}",
                    hint="dimensions cannot be nested",
                )
        if dims[0][0] == dims[1][0]:
            raise PartitionDefinitionError(
                f"partition dimension '{dims[0][0]}' is named twice",
                hint="give each dimension its own name",
            )
        if all(isinstance(d, TimePartitions) for _, d in dims):
            raise PartitionDefinitionError(
                "at most one partition dimension may be time-based",
                hint="make the other dimension static",
            )
        object.__setattr__(self, "dimensions", dims)

    @property
    def names(self) -> tuple[str, ...]:
        """Dimension names in declared order."""
        return tuple(name for name, _ in self.dimensions)

    @property
    def time_dimension(self) -> tuple[str, TimePartitions] | None:
        """``(name, definition)`` of the time dimension, or None."""
        return next(((n, d) for n, d in self.dimensions if isinstance(d, TimePartitions)), None)

    def keys(self, now: datetime | None = None) -> list[str]:
        """The cross product of both dimensions' keys, time dimension outermost."""
        (_, outer), (_, inner) = self._ordered()
        return [self._join(o, i) for o, i in itertools.product(outer.keys(now), inner.keys(now))]

    def parse_key(self, key: str) -> dict[str, str]:
        """``{dimension: key}`` for a valid multi key."""
        if not isinstance(key, str) or key.count(MULTI_SEPARATOR) != 1:
            raise PartitionKeyError(
                f"{key!r} is not a {' x '.join(self.names)} partition key",
                hint=f"write '{MULTI_SEPARATOR.join(self.names)}', e.g. '{self._example()}'",
            )
        parts = key.split(MULTI_SEPARATOR)
        out = {}
        for (name, definition), part in zip(self.dimensions, parts):
            try:
                out[name] = definition.validate(part)
            except PartitionKeyError as exc:
                raise PartitionKeyError(
                    f"in '{key}', dimension '{name}': {exc.message}", hint=exc.hint
                ) from None
        return out

    def make_key(self, keys: Mapping[str, str]) -> str:
        """The multi key for ``{dimension: key}`` (validated)."""
        missing = [n for n in self.names if n not in keys]
        extra = [n for n in keys if n not in self.names]
        if missing or extra:
            raise PartitionKeyError(
                f"a partition key needs the dimensions {', '.join(self.names)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else ""),
                hint=hint_or(
                    did_you_mean(extra[0], self.names) if extra else None,
                    f"for example {dict(zip(self.names, self._example().split(MULTI_SEPARATOR)))}",
                ),
            )
        key = MULTI_SEPARATOR.join(keys[n] for n in self.names)
        self.parse_key(key)
        return key

    def validate(self, key: str, *, now: datetime | None = None) -> str:
        """``key`` if both of its parts are valid in their dimensions."""
        parts = self.parse_key(key)
        if now is not None:
            for name, definition in self.dimensions:
                definition.validate(parts[name], now=now)
        return key

    def window(self, key: str) -> tuple[datetime, datetime]:
        """The time dimension's window of ``key``."""
        name, definition = self._time()
        return definition.window(self.parse_key(key)[name])

    def window_utc(self, key: str) -> tuple[datetime, datetime]:
        """The time dimension's window of ``key``, as naive UTC datetimes."""
        name, definition = self._time()
        return definition.window_utc(self.parse_key(key)[name])

    def key_for(self, instant: datetime | date) -> str:
        """An instant does not pick the static dimension: always an error."""
        raise PartitionDefinitionError(
            "an instant alone does not name a multi-dimensional partition",
            hint="use the time dimension's key_for and make_key with the other dimension",
        )

    def range(self, first: str, last: str) -> list[str]:
        """Every key in the box between ``first`` and ``last`` (each dimension inclusive)."""
        low, high = self.parse_key(first), self.parse_key(last)
        ranges = []
        for name, definition in self._ordered():
            try:
                ranges.append(definition.range(low[name], high[name]))
            except PartitionKeyError as exc:
                raise PartitionKeyError(
                    f"partition range '{first}'...'{last}', dimension '{name}': {exc.message}",
                    hint=exc.hint,
                ) from None
        return [self._join(o, i) for o, i in itertools.product(*ranges)]

    def next_key(self, key: str) -> str | None:
        """The key after ``key`` in :meth:`keys` order, or None."""
        (outer_name, outer), (inner_name, inner) = self._ordered()
        parts = self.parse_key(key)
        following = inner.next_key(parts[inner_name])
        if following is not None:
            return self._join(parts[outer_name], following)
        outer_next = outer.next_key(parts[outer_name])
        return None if outer_next is None else self._join(outer_next, inner.partition_keys[0])

    def previous_key(self, key: str) -> str | None:
        """The key before ``key`` in :meth:`keys` order, or None."""
        (outer_name, outer), (inner_name, inner) = self._ordered()
        parts = self.parse_key(key)
        preceding = inner.previous_key(parts[inner_name])
        if preceding is not None:
            return self._join(parts[outer_name], preceding)
        outer_previous = outer.previous_key(parts[outer_name])
        return (
            None if outer_previous is None else self._join(outer_previous, inner.partition_keys[-1])
        )

    def describe(self) -> str:
        """One line for ``teal plan``."""
        return " x ".join(f"{name} ({d.describe()})" for name, d in self.dimensions)

    def to_spec(self) -> dict[str, Any]:
        """A plain mapping that :func:`parse_partitions` turns back into this definition."""
        return {name: d.to_spec() for name, d in self.dimensions}

    def _ordered(
        self,
    ) -> tuple[tuple[str, TimePartitions | StaticPartitions], tuple[str, StaticPartitions]]:
        """(outer, inner) dimensions for ordering: the time dimension, if any, goes first."""
        first, second = self.dimensions
        outer, (name, inner) = (
            (second, first) if isinstance(second[1], TimePartitions) else (first, second)
        )
        assert isinstance(inner, StaticPartitions)  # at most one dimension is time-based
        return outer, (name, inner)

    def _join(self, outer: str, inner: str) -> str:
        """The key (declared dimension order) for an outer and inner part."""
        swapped = self._ordered()[0][0] != self.names[0]
        return MULTI_SEPARATOR.join((inner, outer) if swapped else (outer, inner))

    def _time(self) -> tuple[str, TimePartitions]:
        found = self.time_dimension
        if found is None:
            raise no_time(self)
        return found

    def _example(self) -> str:
        parts = []
        for _, d in self.dimensions:
            parts.append(
                d.partition_keys[0] if isinstance(d, StaticPartitions) else d._format(d._start_utc)
            )
        return MULTI_SEPARATOR.join(parts)


# any partition definition
Partitions = TimePartitions | StaticPartitions | MultiPartitions


def time_partitions(definition: object) -> TimePartitions | None:
    """The time partitions of ``definition``: itself, its time dimension, or None."""
    if isinstance(definition, MultiPartitions):
        found = definition.time_dimension
        return found[1] if found else None
    return definition if isinstance(definition, TimePartitions) else None
