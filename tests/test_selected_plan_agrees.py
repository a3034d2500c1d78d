"""``teal plan`` and ``teal plan -s MODEL`` give a model the same verdict and a true reason.

A daily SQL model reads a daily Python asset whose version includes the project's vars and
a staging view. After builds with ``--vars`` (the second makes the view again, unchanged),
the plan of everything rebuilds the asset with the vars back as they were, so the daily
model is stale because of it (``upstream events rebuilt first``), never because of the view
made again. The plan of the model alone does not rebuild the asset: the model is up to
date with what it reads now, and the plan says which upstream it does not rebuild first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_partitioned_builds import teal

pytestmark = pytest.mark.slow

RANGE = "{'daily': {'start': '2025-01-01', 'end': '2025-01-04'}}"
EVENTS_PY = f"""
    import datetime as dt

    import pyarrow as pa
    import teal

    @teal.asset(partitioned_by={RANGE}, partition_column="day")
    def events(context):
        least = context.vars.get("min_amont", 0)
        day = dt.date.fromisoformat(context.partition_key)
        rows = [(1, 3), (2, 10)]
        return pa.table(
            {{
                "day": [day] * 2,
                "customer_id": [c for c, _ in rows],
                "amount": [a if a >= least else 0 for _, a in rows],
            }}
        )
"""
STG_CUSTOMERS_SQL = "select 1 as id, 'a' as name union all select 2, 'b'"
DAILY_AMOUNT_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={RANGE}, partition_column='day') }}}}
    select e.day, c.name, sum(e.amount) as amount
    from events e join stg_customers c on c.id = e.customer_id
    where e.day >= {{{{ partition.start }}}} and e.day < {{{{ partition.end }}}}
    group by all
"""
DAYS = ["2025-01-01", "2025-01-02", "2025-01-03"]
NOT_FIRST = (
    "all partitions up to date; upstream events is out of date and not selected, "
    "so it is not rebuilt first (-s +daily_amount selects it)"
)


def _plan(root: Path, *args: str) -> dict:
    return json.loads(teal(root, "plan", "--json", *args).stdout)


def _reasons(plan: dict, model: str) -> list[tuple[str, str]] | str:
    """(partition, reason) of each partition ``plan`` builds of ``model``, or why it has
    no step."""
    for step in plan["steps"]:
        if step["model"] == model:
            return list(zip(step["partitions"], step["partition_reasons"], strict=True))
    return plan["not_run"][model]


def test_a_plan_of_one_model_agrees_with_the_plan_of_everything(project):
    root = project(
        {
            "models/events.py": EVENTS_PY,
            "models/stg_customers.sql": STG_CUSTOMERS_SQL,
            "models/daily_amount.sql": DAILY_AMOUNT_SQL,
        }
    )
    teal(root, "build")
    teal(root, "build", "--vars", "{min_amont: 5}")  # events and daily_amount rebuilt
    teal(root, "build", "--vars", "{min_amont: 5}")  # the view made again, unchanged

    everything = _plan(root)
    rebuilt_first = [(day, "upstream events rebuilt first") for day in DAYS]
    assert _reasons(everything, "daily_amount") == rebuilt_first  # not stg_customers
    text = teal(root, "plan").stdout
    assert "stg_customers changed" not in text
    # the same, with the upstreams selected too
    assert _reasons(_plan(root, "-s", "+daily_amount"), "daily_amount") == rebuilt_first
    # alone: up to date with what it reads now, and which upstream is not rebuilt first
    assert _reasons(_plan(root, "-s", "daily_amount"), "daily_amount") == NOT_FIRST
    assert NOT_FIRST in teal(root, "plan", "-s", "daily_amount").stdout
    # the view selected with it changes nothing: it is made again unchanged
    alone = _plan(root, "-s", "daily_amount", "-s", "stg_customers")
    assert _reasons(alone, "daily_amount") == NOT_FIRST
    # teal partitions plans nothing: the model's partitions as they stand
    shown = json.loads(teal(root, "partitions", "daily_amount", "--json").stdout)
    assert [row["status"] for row in shown] == ["materialized"] * 3

    # built with the vars as they are, both plans find it up to date, without a note
    teal(root, "build")
    for args in ((), ("-s", "daily_amount")):
        assert _reasons(_plan(root, *args), "daily_amount") == "all partitions up to date"


def test_an_upstream_changed_since_is_named_and_a_view_made_again_is_not(project):
    """Something did change in the warehouse since the partitions were built (events
    rebuilt alone with other vars), and a view it reads, named before events, was made
    again after that: both plans name events."""
    root = project(
        {
            "models/events.py": EVENTS_PY,
            "models/customers.sql": STG_CUSTOMERS_SQL,
            "models/daily_amount.sql": DAILY_AMOUNT_SQL.replace("stg_customers", "customers"),
        }
    )
    teal(root, "build")
    teal(root, "build", "-s", "events", "--vars", "{min_amont: 5}")
    teal(root, "build", "-s", "customers")
    changed = [(day, "stale (upstream events changed)") for day in DAYS]
    with_vars = ("--vars", "{min_amont: 5}")
    assert _reasons(_plan(root, *with_vars), "daily_amount") == changed
    assert _reasons(_plan(root, "-s", "daily_amount", *with_vars), "daily_amount") == changed
