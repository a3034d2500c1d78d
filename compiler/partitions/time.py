"""Time partitions: consecutive windows of one grain (hourly, daily, weekly, monthly, yearly) in
one timezone, with the daylight saving rules the package documentation describes."""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from teal.compiler.errors import did_you_mean
from teal.compiler.partitions.common import (
    DEFAULT_FORMATS,
    FORBIDDEN_IN_KEYS,
    GRAINS,
    WEEKDAYS,
    PartitionDefinitionError,
    PartitionKeyError,
    hint_or,
    naive_utc,
)

_OFFSET_SUFFIX = re.compile(r"([+-])(\d{2}):(\d{2})$")
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_TICK = timedelta(microseconds=1)


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
    # fmt and week_start as __post_init__ settles them (a format string, a weekday number)
    _fmt: str = field(init=False, repr=False, compare=False)
    _week_start: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise PartitionDefinitionError(
                f"unknown partition grain {self.grain!r}",
                hint=hint_or(
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
        object.__setattr__(self, "_fmt", fmt)
        object.__setattr__(self, "week_start", week_start)
        object.__setattr__(self, "_week_start", week_start)
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
        >>> try:
        ...     TimePartitions("daily", "2024-01-01").validate("2025-02-29")
        ... except PartitionKeyError as exc:
        ...     print(exc)
        '2025-02-29' is not a daily partition key: day is out of range for month
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
        return naive_utc(bound), naive_utc(self._shift(bound, 1))

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
                f"partition range {first}..{last} runs backwards",
                hint=f"write the earlier key first: {last}..{first}",
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
        if self._fmt != DEFAULT_FORMATS[self.grain]:
            spec["fmt"] = self._fmt
        if self.end_offset:
            spec["end_offset"] = self.end_offset
        if self._week_start:
            spec["week_start"] = self._week_start
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
        """The first calendar day of the daily, weekly, monthly or yearly partition holding
        ``day``."""
        if self.grain == "weekly":
            return day - timedelta(days=(day.weekday() - self._week_start) % 7)
        if self.grain == "monthly":
            return day.replace(day=1)
        if self.grain == "yearly":
            return day.replace(month=1, day=1)
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
            elif self.grain == "yearly":
                candidate = self._day_start(date(day.year + units, 1, 1))
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
            end = self._format(self._end_utc)
            raise PartitionKeyError(
                f"'{shown}' is after the last {self.grain} partition '{last}'",
                # the end itself is the likely slip; a key further out, a partition to add
                hint=f"end is exclusive: '{end}' is not included"
                if shown == end
                else f"the last partition is '{last}'; a later one needs a later end",
            )

    # -- keys

    def _format(self, bound: datetime) -> str:
        local = bound.astimezone(self.tz)
        key = local.strftime(self._fmt)
        if self.grain == "hourly" and "%z" not in self._fmt and repeated_wall_time(local):
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
                hint += f" (weeks start on {WEEKDAYS[self._week_start].title()})"
            raise PartitionKeyError(f"'{key}' is not {_a(self.grain)} partition key", hint=hint)
        self._check_bounds(bound, key)
        return bound

    def _read(self, key: str) -> tuple[datetime, timedelta | None]:
        """strptime ``key``, allowing the ``+HH:MM`` suffix of a repeated hour."""
        try:
            return datetime.strptime(key, self._fmt), None
        except ValueError as exc:
            error = exc
        suffix = _OFFSET_SUFFIX.search(key)
        if self.grain == "hourly" and "%z" not in self._fmt and suffix:
            try:
                wall = datetime.strptime(key[: suffix.start()], self._fmt)
            except ValueError:
                pass
            else:
                sign, hours, minutes = suffix.groups()
                offset = timedelta(hours=int(hours), minutes=int(minutes))
                return wall, -offset if sign == "-" else offset
        reason = (
            str(error) if "out of range" in str(error) else f"expected the format '{self._fmt}'"
        )
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
            return f"write keys like '{self._format(self._start_utc)}' (format '{self._fmt}')"
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
                f"weeks starting on {WEEKDAYS[self._week_start].title()}"
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
            lambda s: datetime.strptime(s, self._fmt),
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
                f"fmt {self._fmt!r} makes keys like {key!r}, which "
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
                f"fmt {self._fmt!r} does not name {self.grain} partitions uniquely "
                f"(the first key would be {key!r})",
                hint=f"include every field of the default format {DEFAULT_FORMATS[self.grain]!r}",
            )

    def _spec_bound(self, bound: datetime) -> str:
        local = bound.astimezone(self.tz)
        return local.isoformat() if self.grain == "hourly" else local.date().isoformat()


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
            hint=hint_or(
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
        hint=hint_or(
            did_you_mean(value, WEEKDAYS) if isinstance(value, str) else None,
            "0 = Monday, 1 = Tuesday, ... 6 = Sunday",
        ),
    )


def repeated_wall_time(local: datetime) -> bool:
    """Whether the wall time of ``local`` happens twice in its zone (the hour clocks fall
    back over); a naive time is in no zone: no."""
    if local.tzinfo is None:
        return False
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


def _a(word: str) -> str:
    """``'a daily'`` / ``'an hourly'``."""
    return ("an " if word[:1] in "aeiouh" else "a ") + word
