"""Which failed error checks still stand: the rule that decides what a failed check blocks
in later runs (docs/checks.md, "A failed check blocks later runs too").

A check's results are kept per model and partition: a partitioned model's build checks
each partition it rebuilds (the row names the partition), ``teal check`` checks the whole
model as it is (no partition). The latest error-severity result of each (model, check,
partition) is what counts, and a failure stands until the check passes again on what
failed:

- a failure on a partition is cleared by a later pass on that partition, or by a later
  pass on the whole model (which checked that partition as it is, as ``teal check``
  clears a failure of an unpartitioned model that its build rolled back);
- a failure on the whole model is cleared by a later pass on the whole model, or by
  later passes on every partition the warehouse records for the model (every partition
  rebuilt and checked since). Until then it stands: a partition not checked since may
  hold the rows that failed.

A ``warn`` status of an error-severity check (its count met ``warn_if`` only) is a pass
here, as it blocks nothing. The engines read the rows (``warehouse/state_rows.py``); the
rule is here, once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from teal.compiler.plan import FailedCheck

FAILING = ("fail", "error")  # the statuses of an error-severity check that block
# bumped when the rule changes: state kept by a teal with another rule is read again
# (runtime/kept_state.py)
RULE = 2

# (asset, check, partition key or None, status, run id, checked at)
Row = tuple[str, str, str | None, str, str, datetime]


def standing_failures(
    latest: Iterable[Row], partitions: Mapping[str, Collection[str]]
) -> dict[str, tuple[FailedCheck, ...]]:
    """model -> its failed error checks that still stand, in the order ``latest`` gives
    them, from the latest error-severity result of each (model, check, partition) and the
    partition keys the warehouse records for each model.

    >>> t = [datetime(2025, 1, d) for d in range(1, 5)]
    >>> whole_failed = ("m", "c", None, "fail", "r1", t[0])
    >>> one = ("m", "c", "p1", "pass", "r2", t[1])
    >>> [f.partition for f in standing_failures([whole_failed, one], {"m": ["p1", "p2"]})["m"]]
    [None]
    >>> standing_failures([whole_failed, one, ("m", "c", "p2", "pass", "r2", t[1])],
    ...                   {"m": ["p1", "p2"]})
    {}
    >>> part_failed = ("m", "c", "p1", "fail", "r1", t[0])
    >>> standing_failures([part_failed, ("m", "c", None, "pass", "r2", t[1])], {"m": ["p1"]})
    {}
    >>> standing_failures([("m", "c", None, "pass", "r1", t[0]), part_failed], {})["m"][0].run_id
    'r1'
    """
    rows = list(latest)
    by_check: dict[tuple[str, str], dict[str | None, Row]] = {}
    for row in rows:
        by_check.setdefault((row[0], row[1]), {})[row[2]] = row
    out: dict[str, list[FailedCheck]] = {}
    for asset, check, key, status, run_id, at in rows:
        if status not in FAILING:
            continue
        results = by_check[(asset, check)]
        if key is not None:
            whole = results.get(None)
            if whole is not None and whole[3] not in FAILING and whole[5] > at:
                continue  # the whole model passed since, this partition as it is with it
        elif _every_partition_passed(results, partitions.get(asset) or (), at):
            continue
        out.setdefault(asset, []).append(FailedCheck(check, run_id, at, key))
    return {asset: tuple(found) for asset, found in out.items()}


def _every_partition_passed(
    results: Mapping[str | None, Row], keys: Collection[str], since: datetime
) -> bool:
    """Whether the model has partitions and the check's latest result on each of them is
    a pass after ``since``."""
    if not keys:
        return False
    for key in keys:
        row = results.get(key)
        if row is None or row[3] in FAILING or row[5] <= since:
            return False
    return True
