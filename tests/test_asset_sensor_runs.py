"""What an asset sensor's run builds (runtime/launch.py ``run_options``): the watched
model's partitions, which may be a range it wrote in one run (a single_run backfill),
turned into the target's: the same keys, the overlapping windows, or none (built plainly)."""

from __future__ import annotations

import pytest

from teal.runtime.launch import run_options
from teal.runtime.session import Session

DAILY = "{'daily': {'start': '2026-01-01', 'end': '2026-04-01'}}"
EVENTS = f"""
{{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='ts',
            backfill_policy='single_run') }}}}
select ts, 1 as v from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 1 HOUR) t(ts)
"""
DOWN = f"""
{{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='ts') }}}}
select ts, v from events
"""
MONTHLY = """
{{ config(materialized='incremental', partition_column='m',
          partitioned_by={'monthly': {'start': '2026-01-01', 'end': '2026-04-01'}}) }}
select date_trunc('month', ts) as m, sum(v) as v from events group by 1
"""
SUMMARY = "{{ config(materialized='table') }} select count(*) as n from events"


@pytest.mark.parametrize(
    ("target", "keys"),
    [
        ("summary", ()),  # unpartitioned: built plainly
        ("down", ("2026-01-30", "2026-01-31", "2026-02-01")),  # the same keys
        ("monthly", ("2026-01", "2026-02")),  # the months the days overlap
    ],
)
def test_a_range_the_watched_model_wrote_is_its_keys_not_the_targets_range(project, target, keys):
    root = project(
        {
            "models/events.sql": EVENTS,
            "models/down.sql": DOWN,
            "models/monthly.sql": MONTHLY,
            "models/summary.sql": SUMMARY,
        }
    )
    settings = {"partitions_of": "events", "vars": {}}
    with Session.open(root) as session:
        options = run_options(session, [target], [], ["2026-01-30..2026-02-01"], settings)
        assert options.partition_range is None
        assert tuple(options.partition_keys) == keys
        plan = session.plan([target], options=options)  # the run's plan: no error
        assert [s.model for s in plan.steps] == [target]
