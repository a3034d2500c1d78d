"""How a run is described to a person, alike in ``teal runs`` and the UI: what started it
(the trigger, and which schedule, sensor or job) and its partitions in a few words."""

from __future__ import annotations

from collections.abc import Sequence

from teal.runtime.runstore import RunRecord

SHOWN_KEYS = 3  # more partition keys than this are summarised as runs (N)


def started_by(run: RunRecord) -> str:
    """The trigger, named by the schedule or sensor that queued the run, with its job.

    >>> from teal.runtime.runstore import RunStatus, Trigger
    >>> def run(trigger, **config):
    ...     return RunRecord("r", "build", RunStatus.SUCCESS, Trigger(trigger), (), (), (), config)
    >>> started_by(run("schedule", source="schedule:nightly", job="nightly"))
    'schedule nightly, job nightly'
    >>> started_by(run("sensor", source="sensor:after_orders")), started_by(run("ui", source="ui"))
    ('sensor after_orders', 'ui')
    >>> started_by(run("cli", job="nightly"))
    'cli, job nightly'
    """
    source = run.config.get("source")
    job = run.config.get("job")
    said = run.trigger.value
    if isinstance(source, str) and ":" in source:
        kind, _, name = source.partition(":")
        said = f"{kind} {name}"
    if isinstance(job, str) and job:
        said += f", job {job}"
    return said


def partitions_summary(keys: Sequence[str]) -> str:
    """A run's partitions: listed when few, else runs of keys that follow each other and
    how many (compiler/key_runs.py, as ``teal plan`` labels them). A run records its keys,
    not their definition: time keys (daily, hourly, weekly, monthly, yearly, in teal's
    default formats) are read as times to see which follow each other; other keys are
    listed, the first ones and how many more.

    >>> partitions_summary(["2025-03-01", "2025-03-02"])
    '2025-03-01, 2025-03-02'
    >>> partitions_summary([f"2025-01-{d:02d}" for d in range(1, 32)])
    '2025-01-01..2025-01-31 (31)'
    >>> partitions_summary([f"2025-01-{d:02d}" for d in (1, 2, 3, 5, 6)])
    '2025-01-01..2025-01-03, 2025-01-05..2025-01-06 (5)'
    >>> partitions_summary(["eu", "us", "asia", "africa"])
    'eu, us, asia, +1 more (4)'
    >>> partitions_summary([])
    ''
    """
    from teal.compiler.key_runs import KeyOrder, describe_keys

    if len(keys) <= SHOWN_KEYS:
        return ", ".join(keys)
    return describe_keys(keys, KeyOrder(_time_span(keys) or ()))


_FORMATS = (("%Y-%m-%d-%H:%M", "hours"), ("%Y-%m-%d", "days"), ("%Y-%m", "months"), ("%Y", "years"))


def _time_span(keys: Sequence[str]) -> list[str] | None:
    """Every key from the earliest of ``keys`` to the latest, a step apart (the smallest
    step between two of them: a day, a week, an hour, a month, a year), if they are all
    times of one of teal's default key formats; None otherwise."""
    from datetime import datetime, timedelta

    for fmt, unit in _FORMATS:
        try:
            times = sorted({datetime.strptime(k, fmt) for k in keys})
        except ValueError:
            continue
        if len(times) < 2:
            return None
        if unit in ("months", "years"):
            span = []
            year, month = times[0].year, times[0].month
            while (year, month) <= (times[-1].year, times[-1].month):
                span.append(datetime(year, month, 1).strftime(fmt))
                if unit == "years":
                    year += 1
                else:
                    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return span
        step = min(b - a for a, b in zip(times, times[1:], strict=False))
        if step <= timedelta(0) or (times[-1] - times[0]) / step > 100_000:
            return None
        span, at = [], times[0]
        while at <= times[-1]:
            span.append(at.strftime(fmt))
            at += step
        return span
    return None


def run_partitions(run: RunRecord) -> str:
    """The partitions a run was asked for, in a few words: its keys, or the range it was
    given (``--partition-range``: the keys are found when it plans); '' for none.

    >>> from teal.runtime.runstore import RunStatus, Trigger
    >>> def run(keys, **config):
    ...     return RunRecord("r", "build", RunStatus.SUCCESS, Trigger.CLI, (), (), keys, config)
    >>> run_partitions(run(("2025-03-01",))), run_partitions(run((), partition_range=["a", "b"]))
    ('2025-03-01', 'a..b')
    >>> run_partitions(run((), partition_range=None))
    ''
    """
    if run.partitions:
        return partitions_summary(run.partitions)
    asked = run.config.get("partition_range")
    if isinstance(asked, list) and len(asked) == 2:
        return f"{asked[0]}..{asked[1]}"
    return ""


def selection_of(run: RunRecord) -> str:
    """What a run was asked to build, as the run listings show it: its selection, ``(all)``
    for none, and for a ``teal run-operation`` run the macro it called."""
    if run.command == "run-operation":
        return f"macro {run.config.get('macro') or '?'}"
    return " ".join(run.selection) or "(all)"
