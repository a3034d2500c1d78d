"""How a run is described to a person, alike in ``teal runs`` and the UI: what started it
(the trigger, and which schedule, sensor or job) and its partitions in a few words."""

from __future__ import annotations

from collections.abc import Sequence

from teal.runtime.runstore import RunRecord

SHOWN_KEYS = 3  # more partition keys than this are summarised as FIRST..LAST (N)


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
    """A run's partitions: listed when few, else the first and last and how many.

    >>> partitions_summary(["2025-03-01", "2025-03-02"])
    '2025-03-01, 2025-03-02'
    >>> partitions_summary([f"2025-01-{d:02d}" for d in range(1, 32)])
    '2025-01-01..2025-01-31 (31)'
    >>> partitions_summary([])
    ''
    """
    if len(keys) <= SHOWN_KEYS:
        return ", ".join(keys)
    return f"{keys[0]}..{keys[-1]} ({len(keys):,})"


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
