"""How a plan names the partitions a step builds (compiler/key_runs.py): the runs of keys
that follow each other cover exactly the keys listed, and a label's spans never hold a key
left out (``2026-01-01..2026-01-05 (4)`` with 2026-01-03 up to date said otherwise)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teal.compiler.key_runs import SHOWN_KEYS, SHOWN_RUNS, KeyOrder, describe_keys

DAYS = tuple((date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(60))
ORDER = KeyOrder(DAYS)

# the keys a step builds: some of the definition's (in its order, or not), and perhaps a
# key it does not hold
subsets = st.lists(st.sampled_from(DAYS), unique=True).map(sorted)
shuffled = st.lists(st.sampled_from([*DAYS, "other"]), unique=True)


@given(st.one_of(subsets, shuffled))
def test_runs_cover_exactly_the_keys_in_their_order_each_run_following_on(keys):
    runs = ORDER.runs(keys)
    covered = [k for start, n in runs for k in keys[start : start + n]]
    assert covered == keys
    position = {k: i for i, k in enumerate(DAYS)}
    for start, n in runs:
        run = keys[start : start + n]
        if n > 1:  # each key follows the one before it in the definition
            first = position[run[0]]
            assert list(DAYS[first : first + n]) == run
    for (start, n), (after, _) in zip(runs, runs[1:], strict=False):
        last, following = keys[start + n - 1], keys[after]
        joined = last in position and following in position
        assert not (joined and position[following] == position[last] + 1), "not the longest"


def _expand(label: str) -> tuple[list[str], int, int]:
    """The keys a label's spans and keys name, the keys it says are left out, its count."""
    count = len(label.split(", "))
    if label.endswith(")"):
        label, count_text = re.fullmatch(r"(.*) \((\d+)\)", label).groups()  # type: ignore[union-attr]
        count = int(count_text)
    named: list[str] = []
    more = 0
    for part in label.split(", "):
        if part.startswith("+"):
            more = int(re.fullmatch(r"\+(\d+) more", part).group(1))  # type: ignore[union-attr]
        elif ".." in part:
            first, last = part.split("..")
            named.extend(DAYS[DAYS.index(first) : DAYS.index(last) + 1])
        else:
            named.append(part)
    return named, more, count


@given(st.one_of(subsets, shuffled).filter(bool))
def test_a_label_names_no_key_left_out_and_counts_every_key(keys):
    label = describe_keys(keys, ORDER)
    named, more, count = _expand(label)
    assert count == len(keys)
    assert named == keys[: len(named)]  # the first keys, in order, none that is not built
    assert len(named) + more == len(keys)
    assert more == 0 or len(ORDER.runs(keys)) > SHOWN_RUNS
    assert (count <= SHOWN_KEYS) == ("(" not in label)


def test_a_day_left_out_splits_the_span():
    keys = ["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-05"]
    assert describe_keys(keys, ORDER) == "2026-01-01..2026-01-02, 2026-01-04..2026-01-05 (4)"
    every_other = list(DAYS[::2])  # 30 runs of one day
    assert describe_keys(every_other, ORDER) == "2026-01-01, 2026-01-03, 2026-01-05, +27 more (30)"
    assert describe_keys(list(DAYS), ORDER) == "2026-01-01..2026-03-01 (60)"


@pytest.mark.slow
def test_teal_plan_names_the_runs_of_missing_days_and_json_lists_every_key(project):
    from tests.test_partitioned_builds import DAILY_SUM_SQL, DAYS, EVENTS_SQL, teal

    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    teal(root, "build", "--partition", "2026-01-03", "--partition", "2026-01-07")
    text = teal(root, "plan").stdout
    runs = "2026-01-01..2026-01-02, 2026-01-04..2026-01-06, 2026-01-08..2026-01-10 (8)"
    assert f"partitions {runs}: missing" in text
    assert "2026-01-01..2026-01-10" not in text
    plan = json.loads(teal(root, "plan", "--json").stdout)
    wanted = [d for d in DAYS if d not in ("2026-01-03", "2026-01-07")]
    assert [s["partitions"] for s in plan["steps"]] == [wanted, wanted]
    assert [s["partition_reasons"] for s in plan["steps"]] == [["missing"] * 8] * 2
