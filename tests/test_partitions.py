"""Partition definitions, keys, windows and mappings (compiler.partitions), without a database.

Properties (hypothesis) pin the invariants every grain and timezone must keep: a key names
one half-open window, windows tile time with no gap or overlap, and keys read back to
themselves. Examples pin the calendar cases people get wrong: DST days of 23 and 25 hours,
the repeated autumn hour, month ends, leap days, weeks that start on a chosen day.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.errors import TealError
from teal.compiler.partitions import (
    FORBIDDEN_IN_KEYS,
    GRAINS,
    AllPartitionsMapping,
    IdentityMapping,
    LookbackMapping,
    MultiPartitions,
    PartitionDefinitionError,
    PartitionKeyError,
    StaticPartitions,
    TimePartitions,
    TimeWindowMapping,
    default_mapping,
    parse_mapping,
    parse_partitions,
    upstream_keys,
    upstream_window,
)

UTC = UTC
# DST in both hemispheres, midnight DST changes (Sao Paulo until 2019), clocks falling back
# across midnight (St. John's until 2011: 00:01 -> 23:01), half-hour and 45-minute offsets,
# a skipped calendar day (Apia, 2011-12-30) and 30-minute DST (Lord Howe Island).
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Australia/Lord_Howe",
)
PROPERTY = settings(max_examples=150, deadline=None)


@functools.cache
def definition(grain: str, tz: str, week_start: int = 0) -> TimePartitions:
    """Partitions from 1999 on: 1999-01-04 is a Monday, so + week_start is a week's first day."""
    start = date(1999, 1, 4) + timedelta(days=week_start) if grain == "weekly" else date(1999, 1, 1)
    return TimePartitions(grain, start, timezone=tz, week_start=week_start)


definitions = st.builds(
    lambda grain, tz, week_start: definition(grain, tz, week_start if grain == "weekly" else 0),
    st.sampled_from(GRAINS),
    st.sampled_from(ZONES),
    st.integers(0, 6),
)
uniform_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@functools.cache
def transitions(tz: str) -> tuple[datetime, ...]:
    """Noons (UTC) just after ``tz`` changed its UTC offset, 2000-2040."""
    zone, out = ZoneInfo(tz), []
    noon = datetime(2000, 1, 1, 12, tzinfo=UTC)
    previous = noon.astimezone(zone).utcoffset()
    while noon.year < 2040:
        noon += timedelta(days=1)
        offset = noon.astimezone(zone).utcoffset()
        if offset != previous:
            out.append(noon)
        previous = offset
    return tuple(out) or (noon,)


@st.composite
def cases(draw) -> tuple[TimePartitions, datetime]:
    """A definition and an instant, half of the time within two days of a DST change."""
    parts = draw(definitions)
    if draw(st.booleans()):
        return parts, draw(uniform_instants)
    change = draw(st.sampled_from(transitions(parts.timezone)))
    return parts, change + timedelta(minutes=draw(st.integers(-48 * 60, 24 * 60)))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def hours(start: datetime, end: datetime) -> float:
    return (utc(end) - utc(start)) / timedelta(hours=1)


# --------------------------------------------------------------------------- properties


@pytest.mark.slow
@PROPERTY
@given(cases())
def test_the_key_of_an_instant_names_the_window_that_contains_it(case):
    parts, instant = case
    key = parts.key_for(instant)
    start, end = parts.window(key)
    assert utc(start) <= instant < utc(end)
    assert parts.key_for(start) == key
    assert parts.validate(key) == key
    assert not any(c in key for c in FORBIDDEN_IN_KEYS)
    assert parts.window_utc(key) == (utc(start).replace(tzinfo=None), utc(end).replace(tzinfo=None))
    assert str(start.tzinfo) == parts.timezone


@PROPERTY
@given(cases())
def test_windows_are_contiguous_and_keys_step_both_ways(case):
    parts, instant = case
    key = parts.key_for(instant)
    following = parts.next_key(key)
    assert utc(parts.window(following)[0]) == utc(parts.window(key)[1])
    assert parts.previous_key(following) == key
    assert parts.range(key, following) == [key, following]


@PROPERTY
@given(cases())
def test_window_lengths_follow_the_calendar(case):
    parts, instant = case
    start, end = parts.window(parts.key_for(instant))
    length = hours(start, end)
    samoa_skip = datetime(2011, 12, 30, 10, tzinfo=UTC)  # Apia went from 29 Dec to 31 Dec
    if (
        parts.timezone == "Pacific/Apia"
        and parts.grain in ("weekly", "monthly", "yearly")
        and abs(utc(start) - samoa_skip) < timedelta(days=367 if parts.grain == "yearly" else 32)
    ):
        return  # a week or month a day short: test_a_calendar_day_that_a_zone_skipped_has_no_key
    if parts.grain == "hourly":
        assert length == 1 or (parts.timezone == "Australia/Lord_Howe" and length == 1.5)
    elif parts.grain == "daily":
        assert 23 <= length <= 25
        # one calendar day there (in UTC arithmetic: a shared tzinfo would ignore offsets)
        assert (utc(end) - timedelta(hours=12)).astimezone(start.tzinfo).date() == start.date()
    elif parts.grain == "weekly":
        assert start.weekday() == parts.week_start
        assert 7 * 24 - 1 <= length <= 7 * 24 + 1
    elif parts.grain == "monthly":
        assert start.day == 1 and 28 * 24 - 1 <= length <= 31 * 24 + 1
    else:  # yearly
        assert (start.month, start.day) == (1, 1) and 365 * 24 - 1 <= length <= 366 * 24 + 1
    if parts.grain != "hourly":  # the first instant of its local day (midnight unless skipped)
        assert (utc(start) - timedelta(microseconds=1)).astimezone(
            start.tzinfo
        ).date() < start.date()


@pytest.mark.slow
@PROPERTY
@given(cases(), st.integers(-1, 1), st.integers(0, 40))
def test_keys_stop_at_now_as_end_offset_says(case, end_offset, periods):
    parts, instant = case
    # start a few periods before `now` so keys() stays short
    start_key = parts.key_for(instant)
    now_key = start_key
    for _ in range(periods):
        now_key = parts.next_key(now_key)
    start, end = map(utc, parts.window(now_key))  # UTC arithmetic: see TimePartitions.window
    now = start + (end - start) / 3
    shifted = TimePartitions(
        parts.grain,
        parts.window(start_key)[0],
        timezone=parts.timezone,
        end_offset=end_offset,
        week_start=parts.week_start,
    )
    keys = shifted.keys(now=now)
    complete = parts.range(start_key, now_key)[:-1]  # windows that ended before `now`
    expected = {-1: complete[:-1], 0: complete, 1: complete + [now_key]}[end_offset]
    assert keys == expected


@pytest.mark.slow
@PROPERTY
@given(definitions, st.integers(0, 5), st.integers(-1, 1))
def test_a_definition_round_trips_through_its_spec(parts, months, end_offset):
    end = parts.window(parts.key_for(datetime(2001 + months, 1, 20, tzinfo=UTC)))[0]
    full = TimePartitions(
        parts.grain,
        parts.start,
        end=end,
        timezone=parts.timezone,
        end_offset=end_offset,
        week_start=parts.week_start,
    )
    assert parse_partitions(full.to_spec()) == full
    assert parse_partitions({"date": full.to_spec(), "region": ["eu", "us"]}) == MultiPartitions(
        (("date", full), ("region", StaticPartitions(("eu", "us"))))
    )


@pytest.mark.slow
@PROPERTY
@given(cases())
def test_a_day_reads_the_hours_that_tile_it(case):
    tz, instant = case[0].timezone, case[1]
    hourly, daily = definition("hourly", tz), definition("daily", tz)
    day = daily.key_for(instant)
    hours_of_day = upstream_keys(TimeWindowMapping(), daily, hourly, day)
    start, end = daily.window(day)
    assert len(hours_of_day) == int(hours(start, end))  # Lord Howe's days: 23.5 or 24.5 hours
    assert utc(hourly.window(hours_of_day[0])[0]) == utc(start)
    assert utc(hourly.window(hours_of_day[-1])[1]) == utc(end)
    assert all(daily.key_for(hourly.window(h)[0]) == day for h in hours_of_day)
    assert upstream_window(TimeWindowMapping(), daily, hourly, day) == (start, end)


# --------------------------------------------------------------------------- boundaries


def test_the_first_key_is_the_start_and_the_end_is_exclusive():
    days = TimePartitions("daily", "2025-01-30", end="2025-02-02")
    assert days.keys() == ["2025-01-30", "2025-01-31", "2025-02-01"]
    assert days.previous_key("2025-01-30") is None and days.next_key("2025-02-01") is None
    with pytest.raises(
        PartitionKeyError, match="'2025-02-02' is after the last daily partition '2025-02-01'"
    ) as at_end:
        days.validate("2025-02-02")
    assert at_end.value.hint == "end is exclusive: '2025-02-02' is not included"
    with pytest.raises(PartitionKeyError, match="'2025-02-09' is after the last") as past:
        days.validate("2025-02-09")  # not the end itself: exclusivity is not the point
    assert past.value.hint == "the last partition is '2025-02-01'; a later one needs a later end"
    with pytest.raises(
        PartitionKeyError, match="before the first daily partition '2025-01-30'"
    ) as info:
        days.validate("2025-01-29")
    assert info.value.hint == "these partitions start at '2025-01-30'"
    assert info.value.exit_code == 2 and isinstance(info.value, TealError)


def test_end_offset_zero_lists_complete_partitions_and_one_adds_the_open_one():
    now = datetime(2025, 1, 3, 10, 30, tzinfo=UTC)
    assert TimePartitions("daily", "2025-01-01").keys(now=now) == ["2025-01-01", "2025-01-02"]
    assert TimePartitions("daily", "2025-01-01", end_offset=1).keys(now=now)[-1] == "2025-01-03"
    assert TimePartitions("daily", "2025-01-01", end_offset=-1).keys(now=now) == ["2025-01-01"]
    assert (
        TimePartitions("hourly", "2025-01-03", end_offset=1).keys(now=now)[-1] == "2025-01-03-10:00"
    )
    assert TimePartitions("daily", "2025-02-01").keys(now=now) == []
    # end bounds even an open partition
    assert TimePartitions("daily", "2025-01-01", end="2025-01-03", end_offset=5).keys(now=now) == [
        "2025-01-01",
        "2025-01-02",
    ]


def test_exactly_at_a_boundary_the_partition_that_just_ended_is_complete():
    at_midnight = datetime(2025, 1, 3, tzinfo=UTC)
    assert TimePartitions("daily", "2025-01-01").keys(now=at_midnight) == [
        "2025-01-01",
        "2025-01-02",
    ]


def test_a_naive_now_is_wall_clock_time_in_the_definitions_zone():
    berlin = TimePartitions("daily", "2025-01-01", timezone="Europe/Berlin")
    # 00:30 in Berlin is still 23:30 UTC on the 2nd: the 2nd is complete in Berlin
    assert berlin.keys(now=datetime(2025, 1, 3, 0, 30))[-1] == "2025-01-02"
    assert berlin.keys(now=datetime(2025, 1, 2, 23, 30, tzinfo=UTC))[-1] == "2025-01-02"
    assert berlin.keys(now=datetime(2025, 1, 2, 22, 30, tzinfo=UTC))[-1] == "2025-01-01"


def test_validate_with_now_refuses_partitions_that_are_not_complete_yet():
    days = TimePartitions("daily", "2025-01-01")
    now = datetime(2025, 1, 3, 10, tzinfo=UTC)
    assert days.validate("2025-01-02", now=now) == "2025-01-02"
    with pytest.raises(PartitionKeyError, match="not available yet") as info:
        days.validate("2025-01-03", now=now)
    assert info.value.hint == "the latest daily partition then is '2025-01-02'"


def test_start_and_end_must_be_partition_boundaries():
    with pytest.raises(
        PartitionDefinitionError, match="start 2025-01-15 is not a boundary of monthly"
    ) as info:
        TimePartitions("monthly", "2025-01-15")
    assert info.value.hint == "use 2025-01-01 or 2025-02-01"
    with pytest.raises(PartitionDefinitionError, match="end 2025-01-01 10:30 is not a boundary"):
        TimePartitions("hourly", "2025-01-01", end="2025-01-01 10:30")
    with pytest.raises(PartitionDefinitionError, match="must be after their start"):
        TimePartitions("daily", "2025-01-02", end="2025-01-01")


def test_start_accepts_dates_datetimes_iso_strings_and_keys():
    expected = TimePartitions("hourly", datetime(2025, 1, 1, 10))
    for start in (
        "2025-01-01 10:00",
        "2025-01-01T10:00",
        "2025-01-01-10:00",
        datetime(2025, 1, 1, 10, tzinfo=UTC),
        "2025-01-01T11:00+01:00",
    ):
        assert TimePartitions("hourly", start) == expected
    assert TimePartitions("daily", date(2025, 1, 1)) == TimePartitions("daily", "2025-01-01")


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize(
    "tz, short, long_",
    [
        ("Europe/Berlin", "2025-03-30", "2025-10-26"),
        ("America/New_York", "2025-03-09", "2025-11-02"),
    ],
)
def test_days_are_calendar_days_of_23_and_25_hours_on_change_days(tz, short, long_):
    days = TimePartitions("daily", "2025-01-01", timezone=tz)
    assert hours(*days.window(short)) == 23
    assert hours(*days.window(long_)) == 25
    assert hours(*days.window("2025-07-01")) == 24
    start, end = days.window(long_)
    assert (start.hour, end.hour, start.date().isoformat()) == (0, 0, long_)


def test_hourly_keys_skip_the_spring_hour_and_name_both_autumn_hours_by_offset():
    berlin = TimePartitions("hourly", "2025-01-01", timezone="Europe/Berlin")
    assert berlin.range("2025-03-30-01:00", "2025-03-30-03:00") == [
        "2025-03-30-01:00",
        "2025-03-30-03:00",
    ]
    autumn = berlin.range("2025-10-26-01:00", "2025-10-26-03:00")
    assert autumn == [
        "2025-10-26-01:00",
        "2025-10-26-02:00+02:00",
        "2025-10-26-02:00+01:00",
        "2025-10-26-03:00",
    ]
    assert [berlin.window_utc(k)[0].hour for k in autumn] == [23, 0, 1, 2]
    new_york = TimePartitions("hourly", "2025-01-01", timezone="America/New_York")
    assert new_york.range("2025-11-02-00:00", "2025-11-02-02:00") == [
        "2025-11-02-00:00",
        "2025-11-02-01:00-04:00",
        "2025-11-02-01:00-05:00",
        "2025-11-02-02:00",
    ]
    assert new_york.next_key("2025-03-09-01:00") == "2025-03-09-03:00"


def test_the_repeated_hour_round_trips_through_its_window():
    berlin = TimePartitions("hourly", "2025-01-01", timezone="Europe/Berlin")
    for key in ("2025-10-26-02:00+02:00", "2025-10-26-02:00+01:00"):
        start, end = berlin.window(key)
        assert berlin.key_for(start) == key and hours(start, end) == 1
    # a naive wall time in the repeated hour follows its fold, as Python does
    assert berlin.key_for(datetime(2025, 10, 26, 2, 30)) == "2025-10-26-02:00+02:00"
    assert berlin.key_for(datetime(2025, 10, 26, 2, 30, fold=1)) == "2025-10-26-02:00+01:00"


def test_dst_hour_keys_that_name_no_hour_or_two_hours_are_refused_with_the_right_spelling():
    berlin = TimePartitions("hourly", "2025-01-01", timezone="Europe/Berlin")
    with pytest.raises(
        PartitionKeyError, match="'2025-10-26-02:00' is ambiguous in Europe/Berlin"
    ) as info:
        berlin.validate("2025-10-26-02:00")
    assert info.value.hint == (
        "write '2025-10-26-02:00+02:00' for the first one "
        "or '2025-10-26-02:00+01:00' for the second"
    )
    with pytest.raises(PartitionKeyError, match="does not exist in Europe/Berlin") as info:
        berlin.validate("2025-03-30-02:00")
    assert (
        info.value.hint
        == "the hour before is '2025-03-30-01:00' and the hour after is '2025-03-30-03:00'"
    )
    with pytest.raises(PartitionKeyError, match=r"not at UTC\+03:00"):
        berlin.validate("2025-10-26-02:00+03:00")
    with pytest.raises(PartitionKeyError, match="did you mean '2025-10-26-03:00'"):
        berlin.validate("2025-10-26-03:00+01:00")  # only repeated hours carry an offset


def test_a_start_time_that_clocks_skip_is_refused():
    with pytest.raises(
        PartitionDefinitionError, match="2025-03-30 02:00 does not exist in Europe/Berlin"
    ):
        TimePartitions("hourly", "2025-03-30 02:00", timezone="Europe/Berlin")


def test_a_day_whose_midnight_is_skipped_starts_when_clocks_jump():
    # Sao Paulo moved clocks from 00:00 to 01:00 on 2018-11-04
    days = TimePartitions("daily", "2018-11-01", timezone="America/Sao_Paulo")
    start, end = days.window("2018-11-04")
    assert (start.hour, hours(start, end)) == (1, 23)
    assert days.key_for(start) == "2018-11-04"


def test_a_calendar_day_that_a_zone_skipped_has_no_key():
    # Samoa moved across the date line: 2011-12-29 was followed by 2011-12-31
    apia = TimePartitions("daily", "2011-12-01", timezone="Pacific/Apia")
    assert apia.next_key("2011-12-29") == "2011-12-31"
    assert hours(*apia.window("2011-12-29")) == 24
    with pytest.raises(PartitionKeyError, match="did you mean '2011-12-31'"):
        apia.validate("2011-12-30")


def test_hours_run_from_one_wall_clock_hour_to_the_next_where_dst_moves_30_minutes():
    lord_howe = TimePartitions("hourly", "2025-01-01", timezone="Australia/Lord_Howe")
    spring = lord_howe.range("2025-10-05-01:00", "2025-10-05-03:00")
    assert spring == ["2025-10-05-01:00", "2025-10-05-03:00"]  # 01:00 runs to 03:00 (02:30)
    assert hours(*lord_howe.window("2025-10-05-01:00")) == 1.5


# --------------------------------------------------------------------------- calendar


def test_month_ends_and_year_ends_roll_over():
    days = TimePartitions("daily", "2024-01-01")
    assert days.next_key("2025-01-31") == "2025-02-01"
    assert days.next_key("2024-12-31") == "2025-01-01"
    months = TimePartitions("monthly", "2024-01-01")
    assert months.next_key("2025-01") == "2025-02" and months.next_key("2024-12") == "2025-01"
    assert months.previous_key("2025-01") == "2024-12"
    assert months.window_utc("2024-02") == (datetime(2024, 2, 1), datetime(2024, 3, 1))
    assert months.key_for(datetime(2025, 1, 31, 23, 59)) == "2025-01"
    assert months.range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_leap_days_exist_only_in_leap_years():
    days = TimePartitions("daily", "2024-01-01")
    assert days.validate("2024-02-29") == "2024-02-29"
    assert (
        days.next_key("2024-02-28") == "2024-02-29" and days.next_key("2024-02-29") == "2024-03-01"
    )
    with pytest.raises(
        PartitionKeyError,
        match="'2025-02-29' is not a daily partition key: day is out of range for month",
    ) as info:
        days.validate("2025-02-29")
    assert info.value.hint == "February 2025 has 28 days"


def test_weeks_start_on_monday_unless_week_start_says_otherwise():
    mondays = TimePartitions("weekly", "2025-01-06")
    assert mondays.key_for(date(2025, 1, 12)) == "2025-01-06"  # a Sunday ends the week
    assert mondays.next_key("2025-12-29") == "2026-01-05"
    sundays = TimePartitions("weekly", "2025-01-05", week_start=6)
    assert sundays.key_for(date(2025, 1, 12)) == "2025-01-12"
    assert TimePartitions("weekly", "2025-01-01", week_start="wednesday") == TimePartitions(
        "weekly", "2025-01-01", week_start=2
    )
    with pytest.raises(PartitionKeyError, match="not a weekly partition key") as info:
        mondays.validate("2025-01-08")
    assert info.value.hint == "did you mean '2025-01-06'? (weeks start on Monday)"
    with pytest.raises(
        PartitionDefinitionError, match="not a boundary of weeks starting on Monday"
    ) as info:
        TimePartitions("weekly", "2025-01-01")
    assert info.value.hint == "use 2024-12-30 or 2025-01-06, or change week_start"


def test_keys_must_be_written_exactly_as_formatted():
    days = TimePartitions("daily", "2024-01-01")
    with pytest.raises(PartitionKeyError, match="did you mean '2024-01-05'"):
        days.validate("2024-1-5")
    with pytest.raises(PartitionKeyError, match="did you mean '2024-01-05'"):
        days.validate("2024-01-05T10:00")
    with pytest.raises(PartitionKeyError, match="expected the format '%Y-%m-%d'") as info:
        days.validate("2024/01/05")
    assert info.value.hint == "write keys like '2024-01-01' (format '%Y-%m-%d')"
    hours_ = TimePartitions("hourly", "2024-01-01")
    with pytest.raises(PartitionKeyError, match="did you mean '2024-01-05-10:00'"):
        hours_.validate("2024-01-05-10:30")


def test_a_custom_format_must_read_back_and_name_partitions_uniquely():
    compact = TimePartitions("daily", "2025-01-01", fmt="%Y%m%d")
    assert compact.range("20250101", "20250102") == ["20250101", "20250102"]
    assert compact.window_utc("20250228") == (datetime(2025, 2, 28), datetime(2025, 3, 1))
    with pytest.raises(PartitionDefinitionError, match="does not name daily partitions uniquely"):
        TimePartitions("daily", "2025-01-01", fmt="%Y-%m")
    with pytest.raises(PartitionDefinitionError, match="contain '/'"):
        TimePartitions("daily", "2025-01-01", fmt="%Y/%m/%d")


# --------------------------------------------------------------------------- ranges


def test_range_is_inclusive_and_refuses_backwards_or_invalid_ends():
    days = TimePartitions("daily", "2025-01-01", end="2025-02-01")
    assert days.range("2025-01-30", "2025-01-31") == ["2025-01-30", "2025-01-31"]
    assert days.range("2025-01-05", "2025-01-05") == ["2025-01-05"]
    with pytest.raises(PartitionKeyError, match="runs backwards") as info:
        days.range("2025-01-05", "2025-01-03")
    assert info.value.hint == "write the earlier key first: 2025-01-03..2025-01-05"
    with pytest.raises(PartitionKeyError, match="after the last daily partition"):
        days.range("2025-01-05", "2025-02-01")
    regions = StaticPartitions(("eu", "us", "apac"))
    assert regions.range("eu", "us") == ["eu", "us"]
    with pytest.raises(PartitionKeyError, match="runs backwards"):
        regions.range("apac", "eu")


# --------------------------------------------------------------------------- static and multi


def test_static_keys_are_listed_once_and_free_of_separators():
    regions = StaticPartitions(["eu", "us"])
    assert regions.keys() == ["eu", "us"] and regions.partition_keys == ("eu", "us")
    with pytest.raises(
        PartitionKeyError, match="'uss' is not one of the static partitions eu, us"
    ) as info:
        regions.validate("uss")
    assert info.value.hint == "did you mean 'us'?"
    for bad, message in [
        ((), "at least one key"),
        (("eu", "eu"), "'eu' is listed twice"),
        (("a,b",), "contains ','"),
        (("a|b",), "contains '|'"),
        (("a/b",), "contains '/'"),
        ((" eu",), "blank, padded"),
        (("",), "blank"),
    ]:
        with pytest.raises(PartitionDefinitionError, match=message):
            StaticPartitions(bad)
    with pytest.raises(PartitionDefinitionError, match="no time window"):
        regions.window("eu")


def test_two_dimensional_keys_are_the_cross_product_and_parse_back():
    grid = MultiPartitions(
        {
            "date": TimePartitions("daily", "2026-01-05", end="2026-01-07"),
            "region": StaticPartitions(("eu", "us")),
        }
    )
    assert grid.keys() == ["2026-01-05|eu", "2026-01-05|us", "2026-01-06|eu", "2026-01-06|us"]
    assert grid.parse_key("2026-01-05|eu") == {"date": "2026-01-05", "region": "eu"}
    assert all(grid.make_key(grid.parse_key(k)) == k for k in grid.keys())
    assert grid.window_utc("2026-01-06|us") == (datetime(2026, 1, 6), datetime(2026, 1, 7))
    assert (
        grid.next_key("2026-01-05|us") == "2026-01-06|eu" and grid.next_key("2026-01-06|us") is None
    )
    assert grid.previous_key("2026-01-06|eu") == "2026-01-05|us"
    with pytest.raises(PartitionKeyError, match="dimension 'region': 'uk' is not one of"):
        grid.validate("2026-01-05|uk")
    with pytest.raises(PartitionKeyError, match="is not a date x region partition key") as info:
        grid.validate("2026-01-05")
    assert info.value.hint == "write 'date|region', e.g. '2026-01-05|eu'"


def test_the_time_dimension_orders_keys_even_when_declared_second():
    grid = MultiPartitions(
        (
            ("region", StaticPartitions(("eu", "us"))),
            ("day", TimePartitions("daily", "2026-01-05", end="2026-01-07")),
        )
    )
    assert grid.keys() == ["eu|2026-01-05", "us|2026-01-05", "eu|2026-01-06", "us|2026-01-06"]
    assert grid.range("eu|2026-01-05", "eu|2026-01-06") == ["eu|2026-01-05", "eu|2026-01-06"]


@pytest.mark.slow
@PROPERTY
@given(
    st.lists(
        st.sampled_from(["eu", "us", "apac", "latam", "mena"]), min_size=1, max_size=5, unique=True
    ),
    st.integers(1, 6),
)
def test_multi_keys_are_every_pair_once(regions, days):
    grid = MultiPartitions(
        {
            "date": TimePartitions("daily", "2025-01-01", end=date(2025, 1, 1 + days)),
            "region": StaticPartitions(tuple(regions)),
        }
    )
    keys = grid.keys()
    assert len(keys) == len(set(keys)) == days * len(regions)
    assert {tuple(grid.parse_key(k).values()) for k in keys} == {
        (d, r) for d in grid.dimensions[0][1].keys() for r in regions
    }
    assert grid.range(keys[0], keys[-1]) == keys


def test_multi_definitions_need_two_named_dimensions_and_one_clock_at_most():
    days = TimePartitions("daily", "2025-01-01")
    with pytest.raises(PartitionDefinitionError, match="exactly two dimensions, got 1"):
        MultiPartitions({"date": days})
    with pytest.raises(
        PartitionDefinitionError, match="at most one partition dimension may be time-based"
    ):
        MultiPartitions({"date": days, "hour": TimePartitions("hourly", "2025-01-01")})
    with pytest.raises(PartitionDefinitionError, match="not an identifier"):
        MultiPartitions({"the date": days, "region": StaticPartitions(("eu",))})


# --------------------------------------------------------------------------- parsing config


@pytest.mark.parametrize(
    "spec",
    [
        {"daily": {"start": "2025-01-01", "end": "2026-01-01", "timezone": "Europe/Berlin"}},
        {"type": "daily", "start": "2025-01-01", "end": "2026-01-01", "timezone": "Europe/Berlin"},
        {
            "daily": {
                "start_date": date(2025, 1, 1),
                "end_date": date(2026, 1, 1),
                "timezone": "Europe/Berlin",
            }
        },
    ],
)
def test_time_specs_in_every_spelling_parse_the_same(spec):
    assert parse_partitions(spec) == TimePartitions(
        "daily", "2025-01-01", end="2026-01-01", timezone="Europe/Berlin"
    )


def test_static_and_two_dimensional_specs_parse():
    assert parse_partitions(["eu", "us"]) == StaticPartitions(("eu", "us"))
    assert parse_partitions({"static": ["eu", "us"]}) == StaticPartitions(("eu", "us"))
    assert parse_partitions({"type": "static", "keys": ["eu"]}) == StaticPartitions(("eu",))
    assert parse_partitions([2024, 2025]) == StaticPartitions(("2024", "2025"))  # unquoted YAML
    assert parse_partitions({"daily": "2025-01-01"}) == TimePartitions("daily", "2025-01-01")
    grid = parse_partitions(
        {"date": {"type": "daily", "start": "2025-01-01"}, "region": ["eu", "us"]}
    )
    assert grid.names == ("date", "region") and grid.time_dimension[0] == "date"
    assert parse_partitions(None) is None
    assert parse_partitions(grid) is grid


@pytest.mark.parametrize(
    "spec, message, hint",
    [
        ("dayly", "unknown partition type 'dayly'", "did you mean 'daily'?"),
        (
            {"dayly": {"start": "2025-01-01"}},
            "unknown partition type 'dayly'",
            "did you mean 'daily'?",
        ),
        (
            {"type": "hourley", "start": "2025-01-01"},
            "unknown partition type 'hourley'",
            "did you mean 'hourly'?",
        ),
        ({"statc": ["eu"]}, "unknown partition type 'statc'", "did you mean 'static'?"),
        (
            {"daily": {"strat": "2025-01-01"}},
            "unknown option 'strat' for daily partitions",
            "did you mean 'start'?",
        ),
        ("daily", "daily partitions need a start", 'write {"daily": {"start": "2025-01-01"}}'),
        (
            {"start": "2025-01-01", "timezone": "UTC"},
            "has options (start, timezone) but no grain",
            'add "type": "daily" (or hourly, weekly, monthly), or write {"daily": {"start": "2025-01-01"}}',
        ),
        (
            {"daily": {"start": "2025-01-01", "timezone": "Europe/Berln"}},
            "unknown timezone 'Europe/Berln'",
            "did you mean 'Europe/Berlin'?",
        ),
        (
            {"daily": {"start": "2025-01-01", "timezone": "Mars/Olympus"}},
            "unknown timezone 'Mars/Olympus'",
            "use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'",
        ),
        (
            {"daily": {"start": "2025-02-29"}},
            "start '2025-02-29' is not a date or time (day is out of range",
            "write dates as YYYY-MM-DD ('2025-01-01') and times as '2025-01-01 10:00'",
        ),
        (
            {"weekly": {"start": "2025-01-06", "week_start": "mondy"}},
            "week_start must be 0-6 or a day name",
            "did you mean 'monday'?",
        ),
        (
            {"date": {"type": "daily", "start": "2025-01-01"}, "region": ["eu"], "shop": ["a"]},
            "exactly two dimensions, got 3 (date, region, shop)",
            None,
        ),
        (
            {"date": {"daily": {"start": "2025-01-01"}}, "region": {"statik": ["eu"]}},
            "partition dimension 'region': unknown partition type 'statik'",
            "did you mean 'static'?",
        ),
        (["eu", "eu"], "'eu' is listed twice", "list each key once"),
        ([True], "static partition keys are strings, got True", "quote it: 'True'"),
        (42, "partitioned_by must be a grain with a start, a list of keys or two dimensions", None),
    ],
)
def test_bad_specs_say_what_is_wrong_where_and_what_to_write(spec, message, hint):
    with pytest.raises(PartitionDefinitionError) as info:
        parse_partitions(spec, path="models/marts/orders.sql", line=1)
    error = info.value
    assert message in error.message
    assert (error.path, error.line, error.exit_code) == ("models/marts/orders.sql", 1, 2)
    if hint is not None:
        assert error.hint == hint
    assert str(error).startswith("models/marts/orders.sql:1: ")


PARTITIONED_SQL = """\
{{ config(
    materialized='incremental',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-05'}},
    partition_column='day',
) }}
select current_date as day, 1 as n
"""


@pytest.mark.parametrize(
    "wrong, right, line, col, message",
    [
        # the grain: at the word written wrong
        ("'daily'", "'dayly'", 3, 22, "unknown partition type 'dayly'"),
        # the column: at the setting (its query does not produce it)
        (
            "'day',",
            "'dy',",
            4,
            5,
            "partition_column 'dy' of p is not a column its query produces (it produces: day, n)",
        ),
    ],
)
def test_a_partition_setting_written_wrong_is_located_in_the_config(
    project, wrong, right, line, col, message
):
    """Both were placed at 1:1, the config's first line; an unknown config key
    (materialised) was found at its key."""
    from teal.compiler.column_lineage import column_graph
    from teal.compiler.project import load_project

    sql = PARTITIONED_SQL.replace(wrong, right)
    root = project({"models/p.sql": sql})
    try:
        (error,) = column_graph(load_project(root)).errors()
    except TealError as exc:  # the grain: refused while the model's config is read
        error = exc
    written = sql.splitlines()[line - 1]
    assert str(error).splitlines()[:3] == [
        f"models/p.sql:{line}:{col}: {message}",
        f"    {written}",
        "    " + " " * (col - 1) + "^",
    ]


# --------------------------------------------------------------------------- mappings


BERLIN_HOURS = TimePartitions("hourly", "2025-01-01", timezone="Europe/Berlin")
BERLIN_DAYS = TimePartitions("daily", "2025-01-01", timezone="Europe/Berlin")
DAYS = TimePartitions("daily", "2024-01-01")
MONTHS = TimePartitions("monthly", "2024-01-01")
REGIONS = StaticPartitions(("eu", "us"))


def test_identity_maps_a_key_onto_itself():
    assert upstream_keys(IdentityMapping(), DAYS, DAYS, "2024-03-01") == ["2024-03-01"]
    assert upstream_keys(IdentityMapping(), REGIONS, REGIONS, "us") == ["us"]
    assert upstream_window(IdentityMapping(), DAYS, DAYS, "2024-03-01", utc=True) == (
        datetime(2024, 3, 1),
        datetime(2024, 3, 2),
    )
    with pytest.raises(
        PartitionDefinitionError, match="identity maps daily partitions onto hourly"
    ) as info:
        upstream_keys(IdentityMapping(), BERLIN_DAYS, BERLIN_HOURS, "2025-01-05")
    assert "time_window" in info.value.hint
    with pytest.raises(
        PartitionKeyError, match="upstream has no partition for it: '2024-03-01' is before"
    ):
        upstream_keys(IdentityMapping(), DAYS, TimePartitions("daily", "2024-06-01"), "2024-03-01")


def test_lookback_reads_the_key_and_the_ones_before_it():
    assert upstream_keys(LookbackMapping(3), DAYS, DAYS, "2024-03-01") == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]
    assert upstream_window(LookbackMapping(3), DAYS, DAYS, "2024-03-01", utc=True) == (
        datetime(2024, 2, 28),
        datetime(2024, 3, 2),
    )
    assert upstream_keys(LookbackMapping(3), DAYS, DAYS, "2024-01-02") == [
        "2024-01-01",
        "2024-01-02",
    ]
    # a lookback of 2 days over hourly upstream data is 48 hours (47 across spring forward)
    assert len(upstream_keys(LookbackMapping(2), BERLIN_DAYS, BERLIN_HOURS, "2025-03-30")) == 47
    with pytest.raises(
        PartitionDefinitionError, match=r"lookback\(2\) cannot map partitions 'static: eu, us'"
    ):
        upstream_keys(LookbackMapping(2), REGIONS, REGIONS, "eu")


@pytest.mark.parametrize("day, count", [("2025-03-29", 24), ("2025-03-30", 23), ("2025-10-26", 25)])
def test_a_day_reads_its_hourly_keys_dst_aware(day, count):
    keys = upstream_keys(TimeWindowMapping(), BERLIN_DAYS, BERLIN_HOURS, day)
    assert len(keys) == count and keys[0] == f"{day}-00:00" and keys[-1] == f"{day}-23:00"


def test_a_month_reads_its_days_and_an_hour_reads_its_day():
    february = upstream_keys(TimeWindowMapping(), MONTHS, DAYS, "2024-02")
    assert (len(february), february[0], february[-1]) == (29, "2024-02-01", "2024-02-29")
    assert upstream_keys(
        TimeWindowMapping(), BERLIN_HOURS, BERLIN_DAYS, "2025-10-26-02:00+01:00"
    ) == ["2025-10-26"]
    assert upstream_keys(TimeWindowMapping(), DAYS, MONTHS, "2024-02-10") == ["2024-02"]
    assert upstream_window(TimeWindowMapping(), DAYS, MONTHS, "2024-02-10", utc=True) == (
        datetime(2024, 2, 1),
        datetime(2024, 3, 1),
    )


def test_all_reads_every_upstream_key_and_unpartitioned_upstreams_whole():
    now = datetime(2024, 1, 4, tzinfo=UTC)
    assert upstream_keys(AllPartitionsMapping(), DAYS, REGIONS, "2024-01-02") == ["eu", "us"]
    assert upstream_keys(AllPartitionsMapping(), REGIONS, DAYS, "eu", now=now) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    assert upstream_keys(TimeWindowMapping(), DAYS, None, "2024-01-02") == []
    assert upstream_window(AllPartitionsMapping(), DAYS, DAYS, "2024-01-02") is None
    assert upstream_window(TimeWindowMapping(), DAYS, None, "2024-01-02") is None


def test_multi_dimensional_mappings_map_time_by_window_and_static_by_name():
    grid = MultiPartitions({"date": DAYS, "region": REGIONS})
    hourly_grid = MultiPartitions(
        {"region": REGIONS, "hour": TimePartitions("hourly", "2024-01-01")}
    )
    assert upstream_keys(TimeWindowMapping(), grid, DAYS, "2024-01-05|eu") == ["2024-01-05"]
    assert upstream_keys(TimeWindowMapping(), grid, REGIONS, "2024-01-05|eu") == ["eu"]
    assert upstream_keys(TimeWindowMapping(), DAYS, grid, "2024-01-05") == [
        "2024-01-05|eu",
        "2024-01-05|us",
    ]
    assert upstream_keys(LookbackMapping(2), grid, grid, "2024-01-05|us") == [
        "2024-01-04|us",
        "2024-01-05|us",
    ]
    hours_ = upstream_keys(TimeWindowMapping(), grid, hourly_grid, "2024-01-05|us")
    assert len(hours_) == 24 and hours_[0] == "us|2024-01-05-00:00"
    assert upstream_window(TimeWindowMapping(), grid, hourly_grid, "2024-01-05|us", utc=True) == (
        datetime(2024, 1, 5),
        datetime(2024, 1, 6),
    )
    assert upstream_window(TimeWindowMapping(), grid, REGIONS, "2024-01-05|us") is None


def test_default_mappings_and_parsed_mappings():
    assert default_mapping(DAYS, BERLIN_HOURS) == TimeWindowMapping()
    assert default_mapping(REGIONS, REGIONS) == IdentityMapping()
    assert default_mapping(DAYS, REGIONS) == AllPartitionsMapping()
    assert default_mapping(DAYS, None) == AllPartitionsMapping()
    assert parse_mapping("lookback(3)") == parse_mapping({"lookback": 3}) == LookbackMapping(3)
    assert parse_mapping("all") == AllPartitionsMapping()
    with pytest.raises(
        PartitionDefinitionError, match="unknown partition mapping 'identiy'"
    ) as info:
        parse_mapping("identiy", path="models/schema.yml", line=7)
    assert (info.value.hint, info.value.line) == ("did you mean 'identity'?", 7)
    with pytest.raises(PartitionDefinitionError, match=">= 1, got 0"):
        parse_mapping("lookback(0)")


@pytest.mark.parametrize("module", ["common", "time", "static", "multi", "spec", "mappings"])
def test_the_examples_in_each_partition_module_hold(module):
    # tests/test_doctests.py reads one level of each layer; these modules sit one deeper
    import doctest
    import importlib

    found = importlib.import_module(f"teal.compiler.partitions.{module}")
    failed, _ = doctest.testmod(found, optionflags=doctest.ELLIPSIS, report=False)
    assert failed == 0
