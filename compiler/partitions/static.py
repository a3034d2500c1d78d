"""Static partitions: a fixed, ordered list of keys such as regions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from teal.compiler.errors import did_you_mean
from teal.compiler.partitions.common import (
    FORBIDDEN_IN_KEYS,
    PartitionDefinitionError,
    PartitionKeyError,
    hint_or,
    no_time,
)


@dataclass(frozen=True)
class StaticPartitions:
    """A fixed, ordered list of keys. (The field is ``partition_keys``: ``keys()`` is a method.)

    >>> regions = StaticPartitions(("eu", "us", "apac"))
    >>> regions.keys(), regions.range("us", "apac"), regions.next_key("apac")
    (['eu', 'us', 'apac'], ['us', 'apac'], None)
    >>> try:
    ...     regions.validate("apak")
    ... except PartitionKeyError as exc:
    ...     print(exc)
    'apak' is not one of the static partitions eu, us, apac
      hint: did you mean 'apac'?
    """

    partition_keys: tuple[str, ...]

    def __post_init__(self) -> None:
        keys = self.partition_keys
        if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
            raise PartitionDefinitionError(
                f"static partitions need a list of keys, got {keys!r}",
                hint='for example ["eu", "us"]',
            )
        keys = tuple(keys)
        if not keys:
            raise PartitionDefinitionError(
                "static partitions need at least one key", hint='for example ["eu", "us"]'
            )
        for key in keys:
            check_static_key(key)
        seen: set[str] = set()
        duplicates = []
        for key in keys:
            if key in seen:
                duplicates.append(key)
            seen.add(key)
        if duplicates:
            raise PartitionDefinitionError(
                f"static partition key '{duplicates[0]}' is listed twice", hint="list each key once"
            )
        object.__setattr__(self, "partition_keys", keys)

    def keys(self, now: datetime | None = None) -> list[str]:
        """All keys in the order they were listed (``now`` is accepted and ignored)."""
        return list(self.partition_keys)

    def validate(self, key: str, *, now: datetime | None = None) -> str:
        """``key`` if it is listed, else :class:`PartitionKeyError` naming the closest keys."""
        if key in self.partition_keys:
            return key
        shown = ", ".join(self.partition_keys[:10]) + (
            ", ..." if len(self.partition_keys) > 10 else ""
        )
        raise PartitionKeyError(
            f"'{key}' is not one of the static partitions {shown}",
            hint=hint_or(
                did_you_mean(str(key), self.partition_keys), f"add '{key}' to the list if it is new"
            ),
        )

    def window(self, key: str) -> tuple[datetime, datetime]:
        """Static partitions have no time window: always :class:`PartitionDefinitionError`."""
        raise no_time(self)

    window_utc = window

    def key_for(self, instant: datetime | date) -> str:
        """Static partitions contain no instants: always :class:`PartitionDefinitionError`."""
        raise no_time(self)

    def range(self, first: str, last: str) -> list[str]:
        """Keys from ``first`` to ``last`` in listed order, both included."""
        low = self.partition_keys.index(self.validate(first))
        high = self.partition_keys.index(self.validate(last))
        if low > high:
            raise PartitionKeyError(
                f"partition range '{first}'...'{last}' runs backwards",
                hint=f"keys are ordered {', '.join(self.partition_keys)}",
            )
        return list(self.partition_keys[low : high + 1])

    def next_key(self, key: str) -> str | None:
        """The key listed after ``key``, or None."""
        i = self.partition_keys.index(self.validate(key)) + 1
        return self.partition_keys[i] if i < len(self.partition_keys) else None

    def previous_key(self, key: str) -> str | None:
        """The key listed before ``key``, or None."""
        i = self.partition_keys.index(self.validate(key)) - 1
        return self.partition_keys[i] if i >= 0 else None

    def describe(self) -> str:
        """One line for ``teal plan``."""
        return f"static: {', '.join(self.partition_keys)}"

    def to_spec(self) -> dict[str, Any]:
        """A plain mapping that :func:`parse_partitions` turns back into this definition."""
        return {"static": list(self.partition_keys)}


def check_static_key(key: Any) -> None:
    if not isinstance(key, str):
        raise PartitionDefinitionError(
            f"static partition keys are strings, got {key!r}", hint=f"quote it: '{key}'"
        )
    bad = [c for c in FORBIDDEN_IN_KEYS if c in key]
    if bad:
        raise PartitionDefinitionError(
            f"partition key {key!r} contains {bad[0]!r}",
            hint=f"keys may not contain {' '.join(FORBIDDEN_IN_KEYS)}",
        )
    if not key.strip() or key != key.strip() or any(not c.isprintable() for c in key):
        raise PartitionDefinitionError(
            f"partition key {key!r} is blank, padded or unprintable",
            hint="use plain names such as 'eu'",
        )
