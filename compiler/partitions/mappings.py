"""Partition mappings: which upstream partitions a downstream partition reads (identity,
lookback, all, time window), and the keys or time range that makes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teal.compiler.errors import did_you_mean
from teal.compiler.partitions.common import (
    MULTI_SEPARATOR,
    PartitionDefinitionError,
    PartitionKeyError,
    hint_or,
    naive_utc,
)
from teal.compiler.partitions.multi import MultiPartitions, Partitions
from teal.compiler.partitions.static import StaticPartitions
from teal.compiler.partitions.time import TimePartitions


@dataclass(frozen=True)
class IdentityMapping:
    """Downstream key ``k`` reads upstream key ``k`` (same grain, or the same static keys)."""

    def __str__(self) -> str:
        return "identity"


@dataclass(frozen=True)
class LookbackMapping:
    """Downstream key ``k`` reads the upstream partitions covering ``k`` and the ``n - 1`` before it."""

    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise PartitionDefinitionError(
                f"lookback needs a whole number of partitions >= 1, got {self.n!r}",
                hint="lookback(1) reads just the partition itself",
            )

    def __str__(self) -> str:
        return f"lookback({self.n})"


@dataclass(frozen=True)
class AllPartitionsMapping:
    """Every downstream key reads every upstream key (or an unpartitioned upstream whole)."""

    def __str__(self) -> str:
        return "all"


@dataclass(frozen=True)
class TimeWindowMapping:
    """Downstream key reads the upstream partitions whose windows overlap its window.

    A daily key reads the 24 (23, 25 on DST change days) hourly keys of its day; a monthly
    key reads its days; an hourly key reads the one day containing it.
    """

    def __str__(self) -> str:
        return "time_window"


PartitionMapping = IdentityMapping | LookbackMapping | AllPartitionsMapping | TimeWindowMapping
_MAPPINGS: dict[str, PartitionMapping] = {
    "identity": IdentityMapping(),
    "all": AllPartitionsMapping(),
    "time_window": TimeWindowMapping(),
}
_LOOKBACK = re.compile(r"^lookback\s*\(\s*(\d+)\s*\)$")


def parse_mapping(
    spec: Any, *, path: str | None = None, line: int | None = None
) -> PartitionMapping:
    """A mapping as written in config: ``"identity"``, ``"all"``, ``"time_window"``,
    ``"lookback(3)"`` or ``{"lookback": 3}``.

    >>> parse_mapping("lookback(3)"), parse_mapping({"lookback": 7}), parse_mapping("identity")
    (LookbackMapping(n=3), LookbackMapping(n=7), IdentityMapping())
    """
    try:
        if isinstance(
            spec, (IdentityMapping, LookbackMapping, AllPartitionsMapping, TimeWindowMapping)
        ):
            return spec
        if isinstance(spec, Mapping) and len(spec) == 1 and "lookback" in spec:
            return LookbackMapping(spec["lookback"])
        if isinstance(spec, str):
            text = spec.strip()
            if text in _MAPPINGS:
                return _MAPPINGS[text]
            match = _LOOKBACK.match(text)
            if match:
                return LookbackMapping(int(match.group(1)))
            raise PartitionDefinitionError(
                f"unknown partition mapping {spec!r}",
                hint=hint_or(
                    did_you_mean(text, [*_MAPPINGS, "lookback(N)"]),
                    "use identity, all, time_window or lookback(N)",
                ),
            )
        raise PartitionDefinitionError(
            f"a partition mapping is a name such as 'lookback(3)', got {spec!r}",
            hint="use identity, all, time_window or lookback(N)",
        )
    except PartitionDefinitionError as exc:
        if path is None and line is None:
            raise
        raise PartitionDefinitionError(exc.message, path=path, line=line, hint=exc.hint) from None


def default_mapping(downstream: Partitions | None, upstream: Partitions | None) -> PartitionMapping:
    """The mapping used when none is written.

    Time-based pairs map by overlapping windows; the same static keys map one to one;
    anything else (an unpartitioned side, unrelated static keys) reads every upstream key.

    >>> days = TimePartitions("daily", "2025-01-01")
    >>> default_mapping(days, TimePartitions("hourly", "2025-01-01")), default_mapping(days, None)
    (TimeWindowMapping(), AllPartitionsMapping())
    """
    if downstream is None or upstream is None:
        return AllPartitionsMapping()
    if _time_of(downstream) is not None and _time_of(upstream) is not None:
        return TimeWindowMapping()
    if downstream == upstream and isinstance(downstream, StaticPartitions):
        return IdentityMapping()
    if isinstance(downstream, MultiPartitions) or isinstance(upstream, MultiPartitions):
        return TimeWindowMapping()  # shared static dimensions still map one to one
    return AllPartitionsMapping()


def upstream_keys(
    mapping: PartitionMapping,
    downstream: Partitions,
    upstream: Partitions | None,
    key: str,
    *,
    now: datetime | None = None,
) -> list[str]:
    """The upstream keys that downstream partition ``key`` reads, in upstream order.

    Multi-dimensional definitions map dimension by dimension: the time dimension through
    ``mapping``, a static dimension one to one with the downstream dimension of the same
    name (or the same keys), and every key of an upstream dimension nothing maps to. An
    unpartitioned upstream has no keys: ``[]``, read it whole. Time-based mappings return
    only keys inside the upstream's ``start``/``end``; ``now`` only matters for ``all``.

    >>> hours = TimePartitions("hourly", "2025-01-01", timezone="Europe/Berlin")
    >>> days = TimePartitions("daily", "2025-01-01", timezone="Europe/Berlin")
    >>> dst_days = ("2025-03-29", "2025-03-30", "2025-10-26")
    >>> [len(upstream_keys(TimeWindowMapping(), days, hours, d)) for d in dst_days]
    [24, 23, 25]
    >>> upstream_keys(LookbackMapping(3), days, days, "2025-01-05")
    ['2025-01-03', '2025-01-04', '2025-01-05']
    """
    downstream.validate(key)
    if upstream is None:
        return []
    if isinstance(mapping, AllPartitionsMapping):
        return upstream.keys(now)
    parts = _components(downstream, key)
    if not isinstance(upstream, MultiPartitions):
        strict = not isinstance(downstream, MultiPartitions)
        return _map_dimension(mapping, parts, None, upstream, now, downstream, strict=strict)
    choices = [
        _map_dimension(mapping, parts, name, definition, now, downstream, strict=False)
        for name, definition in upstream.dimensions
    ]
    return [MULTI_SEPARATOR.join(pair) for pair in itertools.product(*choices)]


def upstream_window(
    mapping: PartitionMapping,
    downstream: Partitions,
    upstream: Partitions | None,
    key: str,
    *,
    utc: bool = False,
) -> tuple[datetime, datetime] | None:
    """The time range ``[start, end)`` to filter the upstream on, aligned to its partitions.

    Aware datetimes in the upstream's timezone, or naive UTC with ``utc=True``. None means
    no time filter applies: the upstream is unpartitioned or read whole (``all``), or one of
    the two sides has no time dimension (filter on :func:`upstream_keys` instead). The range
    is not clipped to the upstream's ``start``/``end``, so it is the same before and after a
    backfill.

    >>> months = TimePartitions("monthly", "2024-01-01")
    >>> days = TimePartitions("daily", "2024-01-01")
    >>> upstream_window(TimeWindowMapping(), months, days, "2024-02", utc=True)
    (datetime.datetime(2024, 2, 1, 0, 0), datetime.datetime(2024, 3, 1, 0, 0))
    """
    downstream.validate(key)
    if upstream is None or isinstance(mapping, AllPartitionsMapping):
        return None
    down_time, up_time = _time_of(downstream), _time_of(upstream)
    if down_time is None or up_time is None:
        return None
    time_key = _components(downstream, key)[_time_index(downstream)][2]
    start, end = _mapped_window(mapping, down_time, up_time, time_key)
    if utc:
        return naive_utc(start), naive_utc(end)
    return start.astimezone(up_time.tz), end.astimezone(up_time.tz)


def _components(definition: Partitions, key: str) -> list[tuple[str | None, Partitions, str]]:
    """``[(dimension name or None, definition, part of key)]``."""
    if isinstance(definition, MultiPartitions):
        parts = definition.parse_key(key)
        return [(name, d, parts[name]) for name, d in definition.dimensions]
    return [(None, definition, key)]


def _time_of(definition: Partitions | None) -> TimePartitions | None:
    if isinstance(definition, TimePartitions):
        return definition
    if isinstance(definition, MultiPartitions) and definition.time_dimension:
        return definition.time_dimension[1]
    return None


def _time_index(definition: Partitions) -> int:
    if isinstance(definition, MultiPartitions):
        return [isinstance(d, TimePartitions) for _, d in definition.dimensions].index(True)
    return 0


def _map_dimension(
    mapping: PartitionMapping,
    parts: list,
    name: str | None,
    upstream: Partitions,
    now: datetime | None,
    downstream: Partitions,
    *,
    strict: bool,
) -> list[str]:
    """Upstream keys of one upstream dimension.

    ``strict`` (both sides single definitions): a mapping that cannot apply is an error
    rather than "every key".
    """
    if isinstance(upstream, TimePartitions):
        source = next((p for p in parts if isinstance(p[1], TimePartitions)), None)
        if source is None:
            if strict:
                raise _mismatch(mapping, downstream, upstream)
            return upstream.keys(now)
        _, down_time, time_key = source
        if isinstance(mapping, IdentityMapping):
            _identity_check(down_time, upstream)
            return [_upstream_validate(upstream, time_key)]
        start, end = _mapped_window(mapping, down_time, upstream, time_key)
        bound = max(start, upstream._start_utc)
        stop = end if upstream._end_utc is None else min(end, upstream._end_utc)
        out = []
        while bound < stop:
            out.append(upstream._format(bound))
            bound = upstream._shift(bound, 1)
        return out
    statics = [p for p in parts if isinstance(p[1], StaticPartitions)]
    source = (
        next((p for p in statics if name is not None and p[0] == name), None)
        or next((p for p in statics if p[1] == upstream), None)
        or (statics[0] if strict and statics else None)
    )
    if source is None or (strict and isinstance(mapping, LookbackMapping)):
        if strict:
            raise _mismatch(mapping, downstream, upstream)
        return upstream.keys(now)
    return [_upstream_validate(upstream, source[2])]


def _mapped_window(
    mapping: PartitionMapping, down: TimePartitions, up: TimePartitions, key: str
) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` on the upstream that ``key`` reads, aligned to upstream partitions."""
    start = down._parse(key)
    end = down._shift(start, 1)
    if isinstance(mapping, IdentityMapping):
        _identity_check(down, up)
        start = up._parse(_upstream_validate(up, key))
        return start, up._shift(start, 1)
    if isinstance(mapping, LookbackMapping):
        start = down._shift(start, -(mapping.n - 1))
    elif not isinstance(mapping, TimeWindowMapping):
        raise PartitionDefinitionError(f"unknown partition mapping {mapping!r}")
    low = up._floor(start)
    high = up._floor(end)
    return low, (high if high == end else up._shift(high, 1))


def _identity_check(down: TimePartitions, up: TimePartitions) -> None:
    if down.grain != up.grain:
        raise PartitionDefinitionError(
            f"identity maps {down.grain} partitions onto {up.grain} ones",
            hint="use time_window to read every upstream partition inside the downstream window",
        )


def _upstream_validate(upstream: Partitions, key: str) -> str:
    try:
        return upstream.validate(key)
    except PartitionKeyError as exc:
        raise PartitionKeyError(
            f"upstream has no partition for it: {exc.message}", hint=exc.hint
        ) from None


def _mismatch(
    mapping: PartitionMapping, downstream: Partitions, upstream: Partitions
) -> PartitionDefinitionError:
    return PartitionDefinitionError(
        f"{mapping} cannot map partitions '{downstream.describe()}' onto '{upstream.describe()}'",
        hint="use all to read every upstream partition"
        + (
            "" if isinstance(mapping, TimeWindowMapping) else ", or time_window for time partitions"
        ),
    )
