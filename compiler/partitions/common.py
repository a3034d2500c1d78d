"""What the partition definitions share: their errors, names and small helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from teal.compiler.errors import TealError

if TYPE_CHECKING:
    from teal.compiler.partitions.multi import Partitions

GRAINS = ("hourly", "daily", "weekly", "monthly", "yearly")
DEFAULT_FORMATS = {
    "hourly": "%Y-%m-%d-%H:%M",
    "daily": "%Y-%m-%d",
    "weekly": "%Y-%m-%d",
    "monthly": "%Y-%m",
    "yearly": "%Y",
}
MULTI_SEPARATOR = "|"
# ',' separates keys on the command line, '|' joins dimensions, slashes would break paths.
FORBIDDEN_IN_KEYS = (",", MULTI_SEPARATOR, "/", "\\")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_OPTIONS = ("start", "end", "timezone", "fmt", "end_offset", "week_start")


class PartitionDefinitionError(TealError):
    """A partition definition (``partitioned_by=...``) or partition mapping is malformed."""

    # the word written wrong (an unknown grain), for a caller with the file to point at it
    written: str | None = None


class PartitionKeyError(TealError):
    """A partition key that the definition does not contain (or cannot read)."""


def no_time(definition: Partitions) -> PartitionDefinitionError:
    return PartitionDefinitionError(
        f"partitions '{definition.describe()}' have no time window",
        hint="only time partitions (hourly, daily, ...) filter by time",
    )


def naive_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def hint_or(hint: str | None, fallback: str) -> str:
    return hint if hint else fallback
