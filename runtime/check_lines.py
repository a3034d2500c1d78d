"""Check results as a build prints them: one line per check, whatever the number of
partitions it ran on.

A check of a partitioned model runs once per partition, so a build has one
:class:`~teal.runtime.checking.CheckOutcome` per check and partition. The terminal shows
each check once (:func:`summarize_checks`): its worst status, and when it did not pass
everywhere, on how many partitions and which ones first. Every outcome stays in
``teal.check_results``, the run store and ``--json``.

>>> from teal.runtime.checking import CheckOutcome
>>> runs = [CheckOutcome("nn_v", "events", "pass", "error", 0, partition=f"2025-01-0{d}")
...         for d in (1, 3)]
>>> runs.insert(1, CheckOutcome("nn_v", "events", "fail", "error", 2, partition="2025-01-02"))
>>> [s] = summarize_checks(runs)
>>> check_counts([s])
'  checks: 1 fail'
>>> check_summary_line(s)
'FAIL  check nn_v  failed on 1 of 3 partitions: 2025-01-02  (2 failing rows)'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from teal.compiler.wording import counted

if TYPE_CHECKING:
    from teal.runtime.checking import CheckOutcome

# the order statuses are worse in; a check's summary has its worst outcome's status
STATUSES = ("pass", "skipped", "warn", "fail", "error")
_RANK = {status: rank for rank, status in enumerate(STATUSES)}
# partitions named in a line before "and N more"
NAMED_PARTITIONS = 3
_VERB = {"skipped": "skipped", "warn": "warned", "fail": "failed", "error": "could not run"}
# a status as the console colours it (runtime/report.py's colours, by build status)
CHECK_COLOR = {
    "pass": "success",
    "skipped": "skipped",
    "warn": "skipped",
    "fail": "error",
    "error": "error",
}

Color = Callable[[str, str], str]


@dataclass(frozen=True)
class CheckSummary:
    """One check's outcomes in one build: all of them, in the order they ran."""

    outcomes: tuple[CheckOutcome, ...]
    status: str  # the worst of theirs

    @property
    def first(self) -> CheckOutcome:
        return self.outcomes[0]

    @property
    def flagged(self) -> list[CheckOutcome]:
        """The outcomes that did not pass."""
        return [o for o in self.outcomes if o.status != "pass"]

    @property
    def per_partition(self) -> bool:
        """Whether it ran on more than one partition (so lines count partitions)."""
        return len(self.outcomes) > 1 and any(o.partition for o in self.outcomes)


def summarize_checks(outcomes: Sequence[CheckOutcome]) -> list[CheckSummary]:
    """The outcomes grouped by model and check, in the order each check first ran."""
    groups: dict[tuple[str, str], list[CheckOutcome]] = {}
    worst: dict[tuple[str, str], str] = {}
    for o in outcomes:
        key = (o.asset, o.check)
        groups.setdefault(key, []).append(o)
        if _RANK[o.status] > _RANK[worst.get(key, "pass")]:
            worst[key] = o.status
    return [CheckSummary(tuple(g), worst.get(key, "pass")) for key, g in groups.items()]


def check_counts(summaries: Sequence[CheckSummary]) -> str:
    """``  checks: 5 pass, 1 warn`` (empty without checks): checks counted once each."""
    if not summaries:
        return ""
    counts: dict[str, int] = {}
    for s in summaries:
        counts[s.status] = counts.get(s.status, 0) + 1
    return "  checks: " + ", ".join(f"{counts[k]} {k}" for k in STATUSES if k in counts)


# how the build's summary counts checks of each status that ran (``Checks: 3 run, 1 passed,
# 1 warned, 1 failed``): every check that ran is in exactly one count
_COUNTED = {"pass": "passed", "warn": "warned", "fail": "failed", "error": "errored"}


def run_counts(summaries: Sequence[CheckSummary]) -> str:
    """The summary's count of checks: ``3 run, 1 passed, 1 failed, 1 errored, 1 skipped``.
    The counts after ``run`` add up to it (``passed`` always said, the others when not 0),
    and ``skipped`` (a model the check reads was not built) counts the checks that did not.

    >>> from teal.runtime.checking import CheckOutcome
    >>> ran = [CheckOutcome(n, "m", s, "error", None) for n, s in
    ...        (("a", "pass"), ("b", "fail"), ("c", "skipped"))]
    >>> run_counts(summarize_checks(ran))
    '2 run, 1 passed, 1 failed, 1 skipped'
    """
    counts = {status: sum(s.status == status for s in summaries) for status in STATUSES}
    said = [f"{len(summaries) - counts['skipped']} run", f"{counts['pass']} passed"]
    said += [f"{counts[k]} {_COUNTED[k]}" for k in ("warn", "fail", "error") if counts[k]]
    if counts["skipped"]:
        said.append(f"{counts['skipped']} skipped")
    return ", ".join(said)


def name_partitions(keys: Sequence[str]) -> str:
    """The first few keys: ``2025-01-02, 2025-01-05, 2025-01-09 and 4 more``."""
    named = ", ".join(keys[:NAMED_PARTITIONS])
    if len(keys) > NAMED_PARTITIONS:
        named += f" and {len(keys) - NAMED_PARTITIONS} more"
    return named


def _label(status: str, color: Color | None) -> str:
    label = f"{'SKIP' if status == 'skipped' else status.upper():<5}"
    return color(CHECK_COLOR[status], label) if color is not None else label


def check_line(outcome: CheckOutcome, color: Color | None = None) -> str:
    """One outcome: ``WARN  check not_null_orders_email  12 failing rows  (partition
    2025-01-05)``."""
    parts = [f"{_label(outcome.status, color)} check {outcome.check}"]
    if outcome.failing is not None:
        parts.append(outcome.failures)
    if outcome.partition:
        parts.append(f"(partition {outcome.partition})")
    if outcome.message:
        parts.append(outcome.message)
    return "  ".join(parts).rstrip()


def check_summary_line(summary: CheckSummary, color: Color | None = None) -> str:
    """A check that did not pass everywhere: ``FAIL  check nn_v  failed on 2 of 48
    partitions: 2025-01|eu, 2025-02|eu  (7 failing rows)``; a check that ran once (or on
    one partition) is shown as :func:`check_line` shows it."""
    flagged = summary.flagged
    if not summary.per_partition:
        return check_line((flagged or list(summary.outcomes))[0], color)
    if not flagged:
        label = _label("pass", color)
        return f"{label} check {summary.first.check}  passed on {len(summary.outcomes)} partitions"
    statuses = {o.status for o in flagged}
    if len(statuses) == 1:
        verb = _VERB[summary.status]
        how = ""
    else:
        verb = "flagged"
        counts = ", ".join(
            f"{sum(o.status == k for o in flagged)} {k}" for k in STATUSES if k in statuses
        )
        how = f" ({counts})"
    named = name_partitions([o.partition or "" for o in flagged])
    parts = [
        f"{_label(summary.status, color)} check {summary.first.check}",
        f"{verb} on {len(flagged)} of {len(summary.outcomes)} partitions{how}: {named}",
    ]
    failing = [o.failing for o in flagged if o.failing is not None]
    if failing:
        unit = "failure" if summary.first.calculated else "failing row"
        parts.append(f"({counted(sum(failing), unit)})")
    message = next((o.message for o in flagged if o.message), None)
    if message:
        parts.append(message)
    return "  ".join(parts)


def unbuilt_attached_lines(unbuilt: Mapping[str, Sequence[str]]) -> list[str]:
    """``teal check``'s line per test selected through another parent whose own model
    (not selected) is not built: skipped, and why."""
    return [
        f"the test {test} is attached to {name}, which is not built yet"
        for name, tests in unbuilt.items()
        for test in tests
    ]
