"""What ``teal plan --json`` and ``teal partitions --json`` say about a partitioned project
whose warehouse holds every status at once, pinned in a golden file.

One real warehouse, built and then disturbed: a failed partition, a partition whose state
row is gone (missing), an upstream whose data changed (stale through data versions), a
model whose code changed, a different definition reading through a time-window mapping, a
lookback mapping, a static and a two-dimensional definition, and unpartitioned models on
either side. Each plan is rendered one line per partition (key, reason, data version), so a
change in what is built, why, or which version it records shows as a diff in
``tests/golden/partition_statuses.txt``; after an intended, reviewed change,
rewrite it with ``python -m pytest tests/test_partition_plan_pinned.py --update-golden``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, assert_golden
from tests.test_partitioned_builds import DAILY, EVENTS_SQL, db, teal

pytestmark = pytest.mark.slow

GOLDEN = REPO / "tests" / "golden" / "partition_statuses.txt"

DAILY_SUM_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select date_trunc('day', ts) as day, count(*) as n, sum(v) as total
    from events
    group by 1
"""
DIMS_SQL = "{{ config(materialized='table') }} select {{ var('scale', 1) }}::integer as scale"
SCALED_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select date_trunc('day', e.ts) as day, sum(e.v * d.scale) as total
    from events e cross join dims d
    group by 1
"""
WEEKLY_SQL = """
    {{ config(materialized='incremental', partition_column='week',
              partitioned_by={'weekly': {'start': '2025-12-29', 'end': '2026-01-12'}}) }}
    select date_trunc('week', day) as week, sum(n) as n from daily_sum group by 1
"""
ROLLING_SQL = f"""
    {{{{ config(materialized='incremental', partition_column='day', partitioned_by={DAILY},
              partition_mapping={{'events': 'lookback(3)'}}) }}}}
    select max(date_trunc('day', ts)) as day, count(*) as n from events
"""
REPORT_SQL = "{{ config(materialized='table') }} select count(*) as days from daily_sum"
REGIONS_SQL = """
    {{ config(materialized='incremental', partitioned_by=['eu', 'us'],
              partition_column='region') }}
    select '{{ partition.key }}' as region, {{ var('bump', 0) }} as v
"""
GRID_SQL = """
    {{ config(partitioned_by={'date': {'type': 'daily', 'start': '2026-01-01',
                                       'end': '2026-01-04'}, 'region': ['eu', 'us']},
              partition_column={'date': 'day', 'region': 'region'}) }}
    select day, '{{ partition.region }}' as region
    from range({{ partition.start }}, {{ partition.end }}, INTERVAL 12 HOUR) t(day)
"""


def _render_plan(title: str, planned: dict) -> list[str]:
    """One line per planned partition; unpartitioned steps and models without a step too.
    The steps' order and priorities follow measured durations: left out."""
    out = [f"== {title}"]
    for step in sorted(planned["steps"], key=lambda s: s["model"]):
        head = f"{step['model']}: {step['reason']}"
        if step["blocked"]:
            head += f" [blocked: {step['blocked']}]"
        if step["full_refresh"]:
            head += " [full refresh]"
        if not step["partitions"]:
            out.append(f"{head} -> version {step['data_version']}")
            continue
        out.append(head)
        assert len(step["partitions"]) == len(step["partition_versions"])
        assert len(step["partitions"]) == len(step["partition_reasons"])
        for key, version, why in zip(
            step["partitions"], step["partition_versions"], step["partition_reasons"], strict=True
        ):
            out.append(f"  {key}  {version}  {why}")
    for name, why in sorted(planned["not_run"].items()):
        out.append(f"{name}: no step: {why}")
    return out


def _render_partitions(root: Path, model: str, *args: str) -> list[str]:
    shown = json.loads(teal(root, "partitions", model, "--json", *args).stdout)
    out = [f"== teal partitions {model} {' '.join(args)}".rstrip()]
    for row in shown:
        rows = "-" if row["rows"] is None else str(row["rows"])
        out.append(f"  {row['key']}  {row['status']}  rows={rows}  {row['note'] or ''}".rstrip())
    return out


def test_plan_and_partition_statuses_of_a_disturbed_warehouse(project, update_golden):
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/daily_sum.sql": DAILY_SUM_SQL,
            "models/dims.sql": DIMS_SQL,
            "models/scaled.sql": SCALED_SQL,
            "models/weekly.sql": WEEKLY_SQL,
            "models/rolling.sql": ROLLING_SQL,
            "models/report.sql": REPORT_SQL,
            "models/regions.sql": REGIONS_SQL,
            "models/grid.sql": GRID_SQL,
        }
    )
    # everything built, then one day of events fails (its readers keep their old rows)
    teal(root, "build")
    assert run_failing(root).returncode != 0
    # a state row lost: that partition is missing
    con = duckdb.connect(str(db(root)))
    con.execute(
        "delete from teal.partitions where model = 'daily_sum' and partition_key = '2026-01-07'"
    )
    con.close()
    # a model's code changes: every partition it built is stale
    rolling = root / "models" / "rolling.sql"
    rolling.write_text(rolling.read_text().replace("count(*) as n", "count(*) as n, 1 as one"))

    lines: list[str] = []
    plans = [
        ("plan", ()),
        ("plan (scale changed)", ("--vars", "{scale: 2}")),
        ("plan (bump changed)", ("--vars", "{bump: 1}")),
        ("plan --only-missing", ("--only-missing",)),
        ("plan -s events+ --partition 2026-01-02", ("-s", "events+", "--partition", "2026-01-02")),
        (
            "plan -s daily_sum+ --partition-range 2026-01-03..2026-01-05",
            ("-s", "daily_sum+", "--partition-range", "2026-01-03..2026-01-05"),
        ),
        (
            "plan -s weekly rolling --full-refresh",
            ("-s", "weekly", "-s", "rolling", "--full-refresh"),
        ),
    ]
    # --no-validate: rolling's new column would be refused by its on_schema_change ('fail',
    # tests/test_schema_change.py); what is pinned here is what each plan builds and why
    plans = [(title, ("--no-validate", *args)) for title, args in plans]
    for title, args in plans:
        planned = json.loads(teal(root, "plan", "--json", *args).stdout)
        lines.extend(_render_plan(title, planned))
    # the same plans again, with the models found up to date remembered by the first
    # (compiler/verified_versions.py): the same answers
    again: list[str] = []
    for title, args in plans:
        again.extend(_render_plan(title, json.loads(teal(root, "plan", "--json", *args).stdout)))
    assert again == lines
    for model, args in (
        ("events", ()),
        ("daily_sum", ()),
        ("scaled", ("--vars", "{scale: 2}")),
        ("weekly", ()),
        ("rolling", ()),
        ("regions", ("--vars", "{bump: 1}")),
        ("grid", ("--status", "materialized")),
    ):
        lines.extend(_render_partitions(root, model, *args))
    assert_golden(
        GOLDEN,
        "\n".join(lines) + "\n",
        update=update_golden,
        test_file="tests/test_partition_plan_pinned.py",
    )


def run_failing(root: Path):
    """Rebuild events 2026-01-04 (and what reads it) with a var that fails that day."""
    return teal(
        root,
        "build",
        "-s",
        "events+",
        "--partition",
        "2026-01-04",
        "--vars",
        "{bad_day: '2026-01-04'}",
        ok=False,
    )
