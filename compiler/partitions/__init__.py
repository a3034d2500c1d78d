"""Partitions: the named slices a model is built and rebuilt by, one at a time (Dagster style).

Three definitions, all frozen and pure. The only clock is ``now``, an argument of
``keys`` and ``validate`` that tests inject (left out, it is the current time):

- :class:`TimePartitions` (``time``) -- hourly, daily, weekly, monthly or yearly windows in one
  timezone;
- :class:`StaticPartitions` (``static``) -- a fixed list of keys such as regions;
- :class:`MultiPartitions` (``multi``) -- the cross product of exactly two of the above,
  keys joined with ``|`` (:data:`MULTI_SEPARATOR`): ``"2026-01-05|eu"``.

Each offers ``keys(now)``, ``validate(key)``, ``range(first, last)``, ``next_key(key)`` and
``previous_key(key)``; time-based ones add ``window(key)``, ``window_utc(key)`` and
``key_for(instant)``. :func:`parse_partitions` (``spec``) reads what users write in
``config(partitioned_by=...)``, YAML or decorator arguments; :func:`upstream_keys` and
:func:`upstream_window` (``mappings``) map a downstream partition to what it reads
upstream. Errors and shared helpers are in ``common``; this package re-exports the public
names.

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
yearly     ``%Y``                ``2025``
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

from teal.compiler.partitions.common import (
    DEFAULT_FORMATS,
    FORBIDDEN_IN_KEYS,
    GRAINS,
    MULTI_SEPARATOR,
    TIME_OPTIONS,
    WEEKDAYS,
    PartitionDefinitionError,
    PartitionKeyError,
)
from teal.compiler.partitions.mappings import (
    AllPartitionsMapping,
    IdentityMapping,
    LookbackMapping,
    PartitionMapping,
    TimeWindowMapping,
    default_mapping,
    parse_mapping,
    upstream_keys,
    upstream_window,
)
from teal.compiler.partitions.multi import MultiPartitions, Partitions, time_partitions
from teal.compiler.partitions.spec import parse_partitions
from teal.compiler.partitions.static import StaticPartitions
from teal.compiler.partitions.time import TimePartitions

__all__ = [
    "time_partitions",
    "DEFAULT_FORMATS",
    "FORBIDDEN_IN_KEYS",
    "GRAINS",
    "MULTI_SEPARATOR",
    "TIME_OPTIONS",
    "WEEKDAYS",
    "AllPartitionsMapping",
    "IdentityMapping",
    "LookbackMapping",
    "MultiPartitions",
    "PartitionDefinitionError",
    "PartitionKeyError",
    "PartitionMapping",
    "Partitions",
    "StaticPartitions",
    "TimePartitions",
    "TimeWindowMapping",
    "default_mapping",
    "parse_mapping",
    "parse_partitions",
    "upstream_keys",
    "upstream_window",
]
