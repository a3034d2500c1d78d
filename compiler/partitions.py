"""Partitions: the named slices a model is built and rebuilt by, one at a time (Dagster style).

Three definitions, all frozen and pure. The only clock is ``now``, an argument of
``keys`` and ``validate`` that tests inject (left out, it is the current time):

- :class:`TimePartitions` -- hourly, daily, weekly or monthly windows in one timezone;
- :class:`StaticPartitions` -- a fixed list of keys such as regions;
- :class:`MultiPartitions` -- the cross product of exactly two of the above, keys joined
  with ``|`` (:data:`MULTI_SEPARATOR`): ``"2026-01-05|eu"``.

Each offers ``keys(now)``, ``validate(key)``, ``range(first, last)``, ``next_key(key)`` and
``previous_key(key)``; time-based ones add ``window(key)``, ``window_utc(key)`` and
``key_for(instant)``. :func:`parse_partitions` reads what users write in
``config(partitioned_by=...)``, YAML or decorator arguments; :func:`upstream_keys` and
:func:`upstream_window` map a downstream partition to what it reads upstream.

>>> days = parse_partitions({"daily": {"start": "2025-01-01", "end": "2025-01-04"}})
>>> days.keys()
['2025-01-01', '2025-01-02', '2025-01-03']
>>> days.window_utc("2025-01-02")
(datetime.datetime(2025, 1, 2, 0, 0), datetime.datetime(2025, 1, 3, 0, 0))
>>> grid = parse_partitions({"date": {"type": "daily", "start": "2025-01-01", "end": "2025-01-03"},
...                          "region": ["eu", "us"]})
>>> grid.keys()
['2025-01-01|eu', '2025-01-01|us', '2025-01-02|eu', '2025-01-02|us']
>>> grid.parse_key("2025-01-02|us")
{'date': '2025-01-02', 'region': 'us'}

Key formats (``fmt`` overrides them; any strftime format that reads back works):

=========  ====================  ====================================================
grain      default format        example
=========  ====================  ====================================================
hourly     ``%Y-%m-%d-%H:%M``    ``2025-01-05-13:00`` (as Dagster writes them)
daily      ``%Y-%m-%d``          ``2025-01-05``
weekly     ``%Y-%m-%d``          ``2025-01-06``: the week's first day (Monday unless
                                 ``week_start`` says otherwise, 0 = Monday ... 6 = Sunday)
monthly    ``%Y-%m``             ``2025-01``
=========  ====================  ====================================================

Daylight saving time. Windows are wall-clock periods in the definition's timezone: a daily
partition is a calendar day there, 23 or 25 hours long on change days; an hourly partition
runs from one wall-clock hour to the next, which is one real hour (except in
Australia/Lord_Howe, whose clocks move by 30 minutes). So the hour that clocks skip in
spring has no key and the hour that repeats in autumn has two. Those two keys, and only
those, carry their UTC offset, appended as ``+HH:MM``/``-HH:MM``: in Europe/Berlin the keys
of 26 October 2025 run ``...-01:00``, ``2025-10-26-02:00+02:00``,
``2025-10-26-02:00+01:00``, ``...-03:00``. Every key names exactly one window and formats
back to itself; the bare ``2025-10-26-02:00`` is refused as ambiguous, with both spellings
in the hint.

>>> berlin = TimePartitions("hourly", "2025-10-26", timezone="Europe/Berlin")
>>> berlin.range("2025-10-26-01:00", "2025-10-26-03:00")
['2025-10-26-01:00', '2025-10-26-02:00+02:00', '2025-10-26-02:00+01:00', '2025-10-26-03:00']

Naive datetimes (in ``start``, ``end``, ``now`` or :meth:`TimePartitions.key_for`) are
wall-clock times in the definition's timezone, the way users write them in config; pass
aware datetimes to mean an instant.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from teal.compiler.errors import TealError, did_you_mean

UTC = UTC
GRAINS = ("hourly", "daily", "weekly", "monthly")
DEFAULT_FORMATS = {
    "hourly": "%Y-%m-%d-%H:%M",
    "daily": "%Y-%m-%d",
    "weekly": "%Y-%m-%d",
    "monthly": "%Y-%m",
}
MULTI_SEPARATOR = "|"
# ',' separates keys on the command line, '|' joins dimensions, slashes would break paths.
FORBIDDEN_IN_KEYS = (",", MULTI_SEPARATOR, "/", "\\")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_OPTIONS = ("start", "end", "timezone", "fmt", "end_offset", "week_start")
_OPTION_ALIASES = {"start_date": "start", "end_date": "end"}  # Dagster's spellings
_OFFSET_SUFFIX = re.compile(r"([+-])(\d{2}):(\d{2})$")
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_DIMENSION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXAMPLE_SPEC = '{"daily": {"start": "2025-01-01"}}'
_TICK = timedelta(microseconds=1)


class PartitionDefinitionError(TealError):
    """A partition definition (``partitioned_by=...``) or partition mapping is malformed."""


class PartitionKeyError(TealError):
    """A partition key that the definition does not contain (or cannot read)."""


# --------------------------------------------------------------------------- time partitions


@dataclass(frozen=True)
class TimePartitions:
    """Consecutive half-open time windows of one grain, from ``start`` to ``end`` (exclusive).

    ``start`` and ``end`` may be datetimes, dates or ISO strings and are stored as aware
    datetimes in ``timezone``; both must fall on a partition boundary. ``end_offset`` moves
    the last key :meth:`keys` returns: 0 = only complete partitions, 1 = also the one still
    open at ``now``, -1 = one fewer.

    >>> months = TimePartitions("monthly", "2024-11-01", end="2025-03-01")
    >>> months.keys(), months.next_key("2024-12"), months.previous_key("2024-11")
    (['2024-11', '2024-12', '2025-01', '2025-02'], '2025-01', None)
    >>> weeks = TimePartitions("weekly", "2025-01-05", week_start=6)   # Sunday weeks
    >>> weeks.key_for(datetime(2025, 1, 15, 9, 30))
    '2025-01-12'
    >>> days = TimePartitions("daily", "2025-01-01", timezone="America/New_York")
    >>> open_days = TimePartitions("daily", "2025-01-01", timezone="America/New_York", end_offset=1)
    >>> days.keys(now=datetime(2025, 1, 3, 12)), open_days.keys(now=datetime(2025, 1, 3, 12))
    (['2025-01-01', '2025-01-02'], ['2025-01-01', '2025-01-02', '2025-01-03'])
    """

    grain: str
    start: datetime | date | str
    end: datetime | date | str | None = None
    timezone: str = "UTC"
    fmt: str | None = None
    end_offset: int = 0
    week_start: int | str = 0
    _start_utc: datetime = field(init=False, repr=False, compare=False)
    _end_utc: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise PartitionDefinitionError(
                f"unknown partition grain {self.grain!r}",
                hint=_hint_or(
                    did_you_mean(str(self.grain), GRAINS), f"use one of {', '.join(GRAINS)}"
                ),
            )
        tz = _zone(self.timezone)
        week_start = _weekday(self.week_start)
        if week_start and self.grain != "weekly":
            raise PartitionDefinitionError(
                f"week_start applies to weekly partitions, not {self.grain} ones",
                hint="remove week_start or use the weekly grain",
            )
        if not isinstance(self.end_offset, int) or isinstance(self.end_offset, bool):
            raise PartitionDefinitionError(
                f"end_offset must be a whole number, got {self.end_offset!r}",
                hint="0 = only complete partitions, 1 = also the one still open",
            )
        fmt = DEFAULT_FORMATS[self.grain] if self.fmt is None else self.fmt
        if not isinstance(fmt, str) or not fmt:
            raise PartitionDefinitionError(
                f"fmt must be a strftime format, got {fmt!r}",
                hint=f"for example {DEFAULT_FORMATS[self.grain]!r}",
            )
        object.__setattr__(self, "fmt", fmt)
        object.__setattr__(self, "week_start", week_start)
        start = self._bound(self.start, "start")
        end = None if self.end is None else self._bound(self.end, "end")
        if end is not None and end <= start:
            raise PartitionDefinitionError(
                f"{self.grain} partitions end ({_wall(end, tz)}) must be after their start "
                f"({_wall(start, tz)})",
                hint="end is exclusive: the first instant not partitioned",
            )
        object.__setattr__(self, "_start_utc", start)
        object.__setattr__(self, "_end_utc", end)
        object.__setattr__(self, "start", start.astimezone(tz))
        object.__setattr__(self, "end", None if end is None else end.astimezone(tz))
        self._check_format()

    # -- public interface

    @property
    def tz(self) -> ZoneInfo:
        """The definition's timezone."""
        return ZoneInfo(self.timezone)

    def keys(self, now: datetime | None = None) -> list[str]:
        """Every key from the first up to ``now`` (respecting ``end`` and ``end_offset``)."""
        stop = self._stop(now, self.end_offset)
        out: list[str] = []
        bound = self._start_utc
        while bound < stop:
            out.append(self._format(bound))
            bound = self._shift(bound, 1)
        return out

    def validate(self, key: str, *, now: datetime | None = None) -> str:
        """``key`` if it names one of these partitions, else :class:`PartitionKeyError`.

        With ``now``, keys after the last one :meth:`keys` would return are refused too.

        >>> TimePartitions("daily", "2024-01-01").validate("2024-02-29")
        '2024-02-29'
        >>> TimePartitions("daily", "2024-01-01").validate("2025-02-29")
        Traceback (most recent call last):
        ...
        compiler.partitions.PartitionKeyError: '2025-02-29' is not a daily partition key: day is out of range for month
          hint: February 2025 has 28 days
        """
        bound = self._parse(key)
        if now is not None and bound >= self._stop(now, self.end_offset):
            last = self.keys(now)
            raise PartitionKeyError(
                f"'{key}' is not available yet at {_wall(self._instant(now), self.tz)}",
                hint=f"the latest {self.grain} partition then is '{last[-1]}'"
                if last
                else f"no {self.grain} partition is complete yet",
            )
        return key

    def window(self, key: str) -> tuple[datetime, datetime]:
        """``[start, end)`` of ``key`` as aware datetimes in the definition's timezone.

        Compare or subtract them after ``.astimezone(UTC)``: Python ignores the UTC offset
        when both sides share a tzinfo, so a 25-hour day would look 24 hours long.

        >>> start, end = TimePartitions("daily", "2025-01-01", timezone="Europe/Berlin").window("2025-10-26")
        >>> start.isoformat(), end.isoformat(), end.astimezone(UTC) - start.astimezone(UTC)
        ('2025-10-26T00:00:00+02:00', '2025-10-27T00:00:00+01:00', datetime.timedelta(days=1, seconds=3600))
        """
        bound = self._parse(key)
        return bound.astimezone(self.tz), self._shift(bound, 1).astimezone(self.tz)

    def window_utc(self, key: str) -> tuple[datetime, datetime]:
        """``[start, end)`` of ``key`` as naive UTC datetimes, for SQL ``TIMESTAMP`` filters."""
        bound = self._parse(key)
        return _naive_utc(bound), _naive_utc(self._shift(bound, 1))

    def key_for(self, instant: datetime | date) -> str:
        """The key of the partition that contains ``instant`` (a date means its midnight)."""
        bound = self._floor(self._instant(instant))
        self._check_bounds(bound, _wall(self._instant(instant), self.tz))
        return self._format(bound)

    def range(self, first: str, last: str) -> list[str]:
        """Keys from ``first`` to ``last``, both included.

        >>> TimePartitions("daily", "2024-12-30").range("2024-12-31", "2025-01-02")
        ['2024-12-31', '2025-01-01', '2025-01-02']
        """
        low, high = self._parse(first), self._parse(last)
        if low > high:
            raise PartitionKeyError(
                f"partition range '{first}'...'{last}' runs backwards",
                hint=f"write the earlier key first: '{last}'...'{first}'",
            )
        out = []
        while low <= high:
            out.append(self._format(low))
            low = self._shift(low, 1)
        return out

    def next_key(self, key: str) -> str | None:
        """The key after ``key``, or None at ``end`` (``now`` is not consulted)."""
        bound = self._shift(self._parse(key), 1)
        return None if self._end_utc is not None and bound >= self._end_utc else self._format(bound)

    def previous_key(self, key: str) -> str | None:
        """The key before ``key``, or None for the first."""
        bound = self._shift(self._parse(key), -1)
        return None if bound < self._start_utc else self._format(bound)

    def describe(self) -> str:
        """One line for ``teal plan``.

        >>> TimePartitions("weekly", "2025-01-06", end="2025-03-03", timezone="Europe/Berlin").describe()
        'weekly from 2025-01-06 to 2025-03-03 (exclusive), Europe/Berlin'
        """
        text = f"{self.grain} from {self._format(self._start_utc)}"
        if self._end_utc is not None:
            text += f" to {self._format(self._end_utc)} (exclusive)"
        return f"{text}, {self.timezone}"

    def to_spec(self) -> dict[str, Any]:
        """A plain mapping that :func:`parse_partitions` turns back into this definition."""
        spec: dict[str, Any] = {"type": self.grain, "start": self._spec_bound(self._start_utc)}
        if self._end_utc is not None:
            spec["end"] = self._spec_bound(self._end_utc)
        if self.timezone != "UTC":
            spec["timezone"] = self.timezone
        if self.fmt != DEFAULT_FORMATS[self.grain]:
            spec["fmt"] = self.fmt
        if self.end_offset:
            spec["end_offset"] = self.end_offset
        if self.week_start:
            spec["week_start"] = self.week_start
        return spec

    # -- boundaries: every instant below is an aware UTC datetime

    def _day_start(self, day: date) -> datetime:
        # fold=0 resolves a midnight that clocks skip to the transition instant and a repeated
        # midnight to its first occurrence: either way, the day's first instant.
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def _floor(self, instant: datetime) -> datetime:
        """The start of the partition containing ``instant``."""
        local = instant.astimezone(self.tz)
        if self.grain == "hourly":
            # back to the last wall-clock :00; a second round if that crossed a clock change
            # that was not a whole hour (Australia/Lord_Howe)
            while local.minute or local.second or local.microsecond:
                instant -= timedelta(
                    minutes=local.minute, seconds=local.second, microseconds=local.microsecond
                )
                local = instant.astimezone(self.tz)
            return instant
        bound = self._day_start(self._first_day(local.date()))
        # Where clocks fall back across midnight (America/St_Johns until 2011: 00:01 -> 23:01),
        # the next day has begun although the wall clock shows the previous date again.
        following = self._step(bound, 1)
        return following if following <= instant else bound

    def _first_day(self, day: date) -> date:
        """The first calendar day of the daily, weekly or monthly partition holding ``day``."""
        if self.grain == "weekly":
            return day - timedelta(days=(day.weekday() - self.week_start) % 7)
        if self.grain == "monthly":
            return day.replace(day=1)
        return day

    def _shift(self, bound: datetime, n: int) -> datetime:
        """The boundary ``n`` partitions after (or before) ``bound``."""
        step = 1 if n > 0 else -1
        for _ in range(abs(n)):
            bound = self._step(bound, step)
        return bound

    def _step(self, bound: datetime, step: int) -> datetime:
        """The next (+1) or previous (-1) boundary.

        A calendar day that the zone skipped entirely (Pacific/Apia, 2011-12-30) starts where
        the next one does: step over it. Hours run from one wall-clock :00 to the next, one
        real hour everywhere except Australia/Lord_Howe (30-minute DST: 30 or 90 minutes).
        """
        if self.grain == "hourly":  # the next wall-clock :00: one real hour away, at most two
            if step < 0:
                return self._floor(bound - _TICK)
            return next(
                c for c in (self._floor(bound + timedelta(hours=h)) for h in (1, 2, 3)) if c > bound
            )
        day = self._first_day(bound.astimezone(self.tz).date())
        for units in itertools.count(step, step):
            if self.grain == "monthly":
                years, month = divmod(day.month - 1 + units, 12)
                candidate = self._day_start(date(day.year + years, month + 1, 1))
            else:
                days = units * (7 if self.grain == "weekly" else 1)
                candidate = self._day_start(day + timedelta(days=days))
            if candidate != bound:
                return candidate
        raise AssertionError("unreachable")

    def _stop(self, now: datetime | None, end_offset: int) -> datetime:
        """Exclusive upper bound on the starts of the partitions available at ``now``."""
        current = self._floor(self._instant(datetime.now(UTC) if now is None else now))
        stop = self._shift(current, end_offset)
        return stop if self._end_utc is None else min(stop, self._end_utc)

    def _instant(self, value: datetime | date) -> datetime:
        if isinstance(value, datetime):
            return (
                value.astimezone(UTC)
                if value.tzinfo
                else value.replace(tzinfo=self.tz).astimezone(UTC)
            )
        if isinstance(value, date):
            return self._day_start(value)
        raise TypeError(f"expected a datetime or date, got {value!r}")

    def _check_bounds(self, bound: datetime, shown: str) -> None:
        if bound < self._start_utc:
            first = self._format(self._start_utc)
            raise PartitionKeyError(
                f"'{shown}' is before the first {self.grain} partition '{first}'",
                hint=f"these partitions start at '{first}'",
            )
        if self._end_utc is not None and bound >= self._end_utc:
            last = self._format(self._shift(self._end_utc, -1))
            raise PartitionKeyError(
                f"'{shown}' is after the last {self.grain} partition '{last}'",
                hint=f"end is exclusive: '{self._format(self._end_utc)}' is not included",
            )

    # -- keys

    def _format(self, bound: datetime) -> str:
        local = bound.astimezone(self.tz)
        key = local.strftime(self.fmt)
        if self.grain == "hourly" and "%z" not in self.fmt and _repeated(local):
            key += _offset_text(local.utcoffset())
        return key

    def _parse(self, key: str) -> datetime:
        """The UTC start of the partition named ``key``; anything else is a PartitionKeyError."""
        if not isinstance(key, str):
            raise PartitionKeyError(
                f"a partition key is a string, got {key!r}",
                hint=f"for example '{self._format(self._start_utc)}'",
            )
        wall, offset = self._read(key)
        if wall.tzinfo is not None:
            instant = wall.astimezone(UTC)
        elif offset is not None:
            instant = (wall - offset).replace(tzinfo=UTC)
            if instant.astimezone(self.tz).replace(tzinfo=None) != wall:
                near = self._format(self._floor(self._resolve(key, wall, strict=False)))
                raise PartitionKeyError(
                    f"'{key}': {self.timezone} is not at UTC{_offset_text(offset)} then",
                    hint=f"did you mean '{near}'?",
                )
        else:
            instant = self._resolve(key, wall, strict=self.grain == "hourly")
        bound = self._floor(instant)
        canonical = self._format(bound)
        if canonical != key:
            hint = f"did you mean '{canonical}'?"
            if self.grain == "weekly":
                hint += f" (weeks start on {WEEKDAYS[self.week_start].title()})"
            raise PartitionKeyError(f"'{key}' is not {_a(self.grain)} partition key", hint=hint)
        self._check_bounds(bound, key)
        return bound

    def _read(self, key: str) -> tuple[datetime, timedelta | None]:
        """strptime ``key``, allowing the ``+HH:MM`` suffix of a repeated hour."""
        try:
            return datetime.strptime(key, self.fmt), None
        except ValueError as exc:
            error = exc
        suffix = _OFFSET_SUFFIX.search(key)
        if self.grain == "hourly" and "%z" not in self.fmt and suffix:
            try:
                wall = datetime.strptime(key[: suffix.start()], self.fmt)
            except ValueError:
                pass
            else:
                sign, hours, minutes = suffix.groups()
                offset = timedelta(hours=int(hours), minutes=int(minutes))
                return wall, -offset if sign == "-" else offset
        reason = str(error) if "out of range" in str(error) else f"expected the format '{self.fmt}'"
        raise PartitionKeyError(
            f"'{key}' is not {_a(self.grain)} partition key: {reason}", hint=self._suggest(key)
        )

    def _suggest(self, key: str) -> str:
        """A hint for an unreadable key: a short month, a close ISO spelling, or an example."""
        match = _DATE_PREFIX.match(key)
        if match:
            year, month, day = map(int, match.groups())
            if 1 <= month <= 12 and day > calendar.monthrange(year, month)[1]:
                return f"{calendar.month_name[month]} {year} has {calendar.monthrange(year, month)[1]} days"
        try:
            guess = self._format(self._floor(self._instant(datetime.fromisoformat(key))))
        except (ValueError, OverflowError):
            return f"write keys like '{self._format(self._start_utc)}' (format '{self.fmt}')"
        return f"did you mean '{guess}'?"

    def _resolve(self, key: str, wall: datetime, *, strict: bool) -> datetime:
        """The instant of a naive wall time; with ``strict``, skipped or repeated times are errors."""
        early = wall.replace(tzinfo=self.tz, fold=0).astimezone(UTC)
        late = wall.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        if early == late or not strict:
            return early
        first, second = sorted((early, late))
        if early.astimezone(self.tz).replace(tzinfo=None) == wall:
            a, b = self._format(self._floor(first)), self._format(self._floor(second))
            raise PartitionKeyError(
                f"'{key}' is ambiguous in {self.timezone}: clocks fall back and that hour happens twice",
                hint=f"write '{a}' for the first one or '{b}' for the second",
            )
        before, after = self._format(self._floor(first)), self._format(self._floor(second))
        raise PartitionKeyError(
            f"'{key}' does not exist in {self.timezone}: clocks spring forward over that hour",
            hint=f"the hour before is '{before}' and the hour after is '{after}'",
        )

    # -- construction helpers

    def _bound(self, value: Any, what: str) -> datetime:
        """``start``/``end`` as a UTC instant that must be a partition boundary."""
        tz = self.tz
        if isinstance(value, str):
            value = self._read_bound(value, what)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                early = value.replace(tzinfo=tz).astimezone(UTC)
                if early.astimezone(tz).replace(tzinfo=None) != value:
                    raise PartitionDefinitionError(
                        f"{what} {value.isoformat(' ', 'minutes')} does not exist in {self.timezone} "
                        "(clocks skip it)",
                        hint="pick a time outside the daylight saving jump",
                    )
            instant = self._instant(value)
        elif isinstance(value, date):
            instant = self._day_start(value)
        else:
            raise PartitionDefinitionError(
                f"{self.grain} partitions: {what} must be a date or time, got {value!r}",
                hint="write it as '2025-01-01' or '2025-01-01 10:00'",
            )
        bound = self._floor(instant)
        if bound != instant:
            after = self._shift(bound, 1)
            what_grain = (
                f"weeks starting on {WEEKDAYS[self.week_start].title()}"
                if self.grain == "weekly"
                else f"{self.grain} partitions"
            )
            raise PartitionDefinitionError(
                f"{what} {_wall(instant, tz)} is not a boundary of {what_grain}",
                hint=f"use {_wall(bound, tz)} or {_wall(after, tz)}"
                + (", or change week_start" if self.grain == "weekly" else ""),
            )
        return bound

    def _read_bound(self, text: str, what: str) -> date | datetime:
        errors = []
        for read in (
            date.fromisoformat,
            datetime.fromisoformat,
            lambda s: datetime.strptime(s, self.fmt),
        ):
            try:
                return read(text.strip())
            except ValueError as exc:
                errors.append(str(exc))
        reason = next((e for e in errors if "out of range" in e), None)
        raise PartitionDefinitionError(
            f"{self.grain} partitions: {what} {text!r} is not a date or time"
            + (f" ({reason})" if reason else ""),
            hint="write dates as YYYY-MM-DD ('2025-01-01') and times as '2025-01-01 10:00'",
        )

    def _check_format(self) -> None:
        """The format must name partitions uniquely, read back, and avoid reserved characters."""
        first, second = self._start_utc, self._shift(self._start_utc, 1)
        key = self._format(first)
        bad = [c for c in FORBIDDEN_IN_KEYS if c in key]
        if bad or not key.strip() or key != key.strip():
            raise PartitionDefinitionError(
                f"fmt {self.fmt!r} makes keys like {key!r}, which "
                + (f"contain {bad[0]!r}" if bad else "are blank or padded with spaces"),
                hint=f"keys may not contain {' '.join(FORBIDDEN_IN_KEYS)}; "
                f"the default is {DEFAULT_FORMATS[self.grain]!r}",
            )
        try:
            readable = self._parse(key) == first
        except PartitionKeyError:
            readable = False
        if not readable or key == self._format(second):
            raise PartitionDefinitionError(
                f"fmt {self.fmt!r} does not name {self.grain} partitions uniquely "
                f"(the first key would be {key!r})",
                hint=f"include every field of the default format {DEFAULT_FORMATS[self.grain]!r}",
            )

    def _spec_bound(self, bound: datetime) -> str:
        local = bound.astimezone(self.tz)
        return local.isoformat() if self.grain == "hourly" else local.date().isoformat()


# --------------------------------------------------------------------------- static partitions


@dataclass(frozen=True)
class StaticPartitions:
    """A fixed, ordered list of keys. (The field is ``partition_keys``: ``keys()`` is a method.)

    >>> regions = StaticPartitions(("eu", "us", "apac"))
    >>> regions.keys(), regions.range("us", "apac"), regions.next_key("apac")
    (['eu', 'us', 'apac'], ['us', 'apac'], None)
    >>> regions.validate("apak")
    Traceback (most recent call last):
    ...
    compiler.partitions.PartitionKeyError: 'apak' is not one of the static partitions eu, us, apac
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
            _check_static_key(key)
        seen: set[str] = set()
        duplicates = [k for k in keys if k in seen or seen.add(k)]
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
            hint=_hint_or(
                did_you_mean(str(key), self.partition_keys), f"add '{key}' to the list if it is new"
            ),
        )

    def window(self, key: str) -> tuple[datetime, datetime]:
        """Static partitions have no time window: always :class:`PartitionDefinitionError`."""
        raise _no_time(self)

    window_utc = window

    def key_for(self, instant: datetime | date) -> str:
        """Static partitions contain no instants: always :class:`PartitionDefinitionError`."""
        raise _no_time(self)

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


# --------------------------------------------------------------------------- multi partitions


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
        dims = self.dimensions
        dims = tuple(dims.items()) if isinstance(dims, Mapping) else tuple(tuple(d) for d in dims)
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
                hint=_hint_or(
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

    def _ordered(self) -> tuple[tuple[str, Any], tuple[str, StaticPartitions]]:
        """(outer, inner) dimensions for ordering: the time dimension, if any, goes first."""
        first, second = self.dimensions
        return (second, first) if isinstance(second[1], TimePartitions) else (first, second)

    def _join(self, outer: str, inner: str) -> str:
        """The key (declared dimension order) for an outer and inner part."""
        swapped = self._ordered()[0][0] != self.names[0]
        return MULTI_SEPARATOR.join((inner, outer) if swapped else (outer, inner))

    def _time(self) -> tuple[str, TimePartitions]:
        found = self.time_dimension
        if found is None:
            raise _no_time(self)
        return found

    def _example(self) -> str:
        parts = []
        for _, d in self.dimensions:
            parts.append(
                d.partition_keys[0] if isinstance(d, StaticPartitions) else d._format(d._start_utc)
            )
        return MULTI_SEPARATOR.join(parts)


Partitions = TimePartitions | StaticPartitions | MultiPartitions


# --------------------------------------------------------------------------- parsing config


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
    >>> parse_partitions({"dayly": {"start": "2025-01-01"}}, path="models/orders.sql", line=1)
    Traceback (most recent call last):
    ...
    compiler.partitions.PartitionDefinitionError: models/orders.sql:1: unknown partition type 'dayly'
      hint: did you mean 'daily'?
    """
    try:
        return _parse_spec(spec, nested=False)
    except PartitionDefinitionError as exc:
        if path is None and line is None:
            raise
        raise PartitionDefinitionError(
            exc.message, path=path, line=line, col=exc.col, hint=exc.hint
        ) from None


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
    options = [k for k in spec if k in TIME_OPTIONS or k in _OPTION_ALIASES]
    if options:
        raise _missing_type(spec)
    if nested:
        raise PartitionDefinitionError(
            "partition dimensions cannot be nested",
            hint="a dimension is a time grain with a start or a list of keys",
        )
    dims = []
    for name, value in spec.items():
        try:
            dims.append((name, _parse_spec(value, nested=True)))
        except PartitionDefinitionError as exc:
            raise PartitionDefinitionError(
                f"partition dimension '{name}': {exc.message}", hint=exc.hint
            ) from None
    return MultiPartitions(tuple(dims))


def _single(kind: Any, options: dict[str, Any]) -> TimePartitions | StaticPartitions:
    if kind == "static":
        unknown = [k for k in options if k != "keys"]
        if unknown or "keys" not in options:
            raise PartitionDefinitionError(
                "static partitions take only 'keys'"
                if unknown
                else "static partitions need 'keys'",
                hint=_hint_or(
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
                hint=_hint_or(
                    did_you_mean(str(option), TIME_OPTIONS),
                    f"options are {', '.join(TIME_OPTIONS)}",
                ),
            )
    if "start" not in options:
        raise PartitionDefinitionError(
            f"{kind} partitions need a start", hint=f'write {{"{kind}": {{"start": "2025-01-01"}}}}'
        )
    return TimePartitions(kind, **options)


def _static_key(key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)  # YAML reads [2024, 2025] as numbers
    if not isinstance(key, str):
        raise PartitionDefinitionError(
            f"static partition keys are strings, got {key!r}", hint=f"quote it: '{key}'"
        )
    return key


def _unknown_type(kind: Any) -> PartitionDefinitionError:
    return PartitionDefinitionError(
        f"unknown partition type {str(kind)!r}", hint=did_you_mean(str(kind), GRAINS + ("static",))
    )


def _missing_type(spec: Mapping) -> PartitionDefinitionError:
    return PartitionDefinitionError(
        f"partitioned_by has options ({', '.join(map(str, spec))}) but no grain",
        hint=f'add "type": "daily" (or hourly, weekly, monthly), or write {_EXAMPLE_SPEC}',
    )


# --------------------------------------------------------------------------- mappings


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
_MAPPINGS = {
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
                hint=_hint_or(
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
        return _naive_utc(start), _naive_utc(end)
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


# --------------------------------------------------------------------------- small helpers


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise PartitionDefinitionError(
            f"timezone must be a name like 'Europe/Berlin', got {name!r}"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError: names like '../etc'
        raise PartitionDefinitionError(
            f"unknown timezone '{name}'",
            hint=_hint_or(
                did_you_mean(name, available_timezones()),
                "use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'",
            ),
        ) from None


def _weekday(value: Any) -> int:
    if isinstance(value, str):
        names = {d: i for i, d in enumerate(WEEKDAYS)} | {d[:3]: i for i, d in enumerate(WEEKDAYS)}
        if value.lower() in names:
            return names[value.lower()]
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    raise PartitionDefinitionError(
        f"week_start must be 0-6 or a day name, got {value!r}",
        hint=_hint_or(
            did_you_mean(value, WEEKDAYS) if isinstance(value, str) else None,
            "0 = Monday, 1 = Tuesday, ... 6 = Sunday",
        ),
    )


def _check_static_key(key: Any) -> None:
    if not isinstance(key, str):
        raise PartitionDefinitionError(
            f"static partition keys are strings, got {key!r}", hint=f"quote it: '{key}'"
        )
    bad = [c for c in FORBIDDEN_IN_KEYS if c in key]
    if bad:
        raise PartitionDefinitionError(
            f"static partition key {key!r} contains {bad[0]!r}",
            hint=f"keys may not contain {' '.join(FORBIDDEN_IN_KEYS)}",
        )
    if not key.strip() or key != key.strip() or any(not c.isprintable() for c in key):
        raise PartitionDefinitionError(
            f"static partition key {key!r} is blank, padded or unprintable",
            hint="use plain names such as 'eu'",
        )


def _no_time(definition: Partitions) -> PartitionDefinitionError:
    return PartitionDefinitionError(
        f"partitions '{definition.describe()}' have no time window",
        hint="only time partitions (hourly, daily, ...) filter by time",
    )


def _repeated(local: datetime) -> bool:
    """Whether the wall time of ``local`` happens twice (the hour clocks fall back over)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _offset_text(offset: timedelta | None) -> str:
    """``+02:00`` / ``-04:00``."""
    seconds = int((offset or timedelta(0)).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def _wall(instant: datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return (
        local.strftime("%Y-%m-%d") if local.time() == time(0) else local.strftime("%Y-%m-%d %H:%M")
    )


def _naive_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def _a(word: str) -> str:
    """``'a daily'`` / ``'an hourly'``."""
    return ("an " if word[:1] in "aeiouh" else "a ") + word


def _hint_or(hint: str | None, fallback: str) -> str:
    return hint if hint else fallback
