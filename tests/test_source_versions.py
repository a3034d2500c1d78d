"""A file source edited, added to or removed from is seen: the partitions built from it are
stale (named by the source), a plain ``teal build`` rebuilds them with the new rows, and
``--changed-only`` rebuilds what reads it. Partitioned and remote sources are not versioned."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import query
from tests.test_partitioned_builds import DAILY, DAYS, EVENTS_SQL, built_keys, db, teal

pytestmark = pytest.mark.slow

SOURCES = """
sources:
  - name: ref
    type: csv
    path: ../data/{table}.csv
    tables:
      - name: scales
"""
# a daily model joining an unpartitioned CSV source
SCALED_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select date_trunc('day', e.ts) as day, sum(e.v * s.factor) as total
    from events e cross join ref.scales s
    group by 1
"""
# the same, reading the source through a view
VIEW_SQL = "{{ config(materialized='view') }} select factor * 10 as factor from ref.scales"
VIA_VIEW_SQL = SCALED_SQL.replace("ref.scales", "scales_view")
TABLE_SQL = "{{ config(materialized='table') }} select sum(factor) as total from ref.scales"


def make(project) -> Path:
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/sources.yml": SOURCES,
            "models/scaled.sql": SCALED_SQL,
            "models/scales_view.sql": VIEW_SQL,
            "models/via_view.sql": VIA_VIEW_SQL,
            "models/scale_total.sql": TABLE_SQL,
        }
    )
    write_scales(root, 1)
    return root


def write_scales(root: Path, factor: int) -> None:
    (root / "data").mkdir(exist_ok=True)
    (root / "data/scales.csv").write_text(f"factor\n{factor}\n")


def totals(root: Path, relation: str) -> dict[str, int]:
    return dict(
        query(db(root), f"select strftime(day, '%Y-%m-%d'), total from {relation} order by day")
    )


def test_an_edited_csv_source_makes_the_partitions_that_read_it_stale(project):
    root = make(project)
    teal(root, "build")
    first = totals(root, "scaled")
    assert list(first) == DAYS

    again = teal(root, "build").stdout  # nothing changed: nothing rebuilt
    assert built_keys(again, "scaled") == [] and built_keys(again, "via_view") == []

    write_scales(root, 3)
    plan = json.loads(teal(root, "plan", "--json").stdout)
    steps = {s["model"]: s for s in plan["steps"]}
    assert steps["scaled"]["partitions"] == DAYS
    assert set(steps["scaled"]["partition_reasons"]) == {"stale (source ref.scales changed)"}
    # through the view: the reason names the source and the view it is read through
    assert steps["via_view"]["partitions"] == DAYS
    assert set(steps["via_view"]["partition_reasons"]) == {
        "stale (source ref.scales changed, read through scales_view)"
    }
    assert "events" not in steps  # it does not read the file
    status = json.loads(teal(root, "partitions", "scaled", "--json").stdout)
    assert {r["status"] for r in status} == {"stale"}

    built = teal(root, "build").stdout
    assert built_keys(built, "scaled") == DAYS and built_keys(built, "events") == []
    assert totals(root, "scaled") == {d: 3 * t for d, t in first.items()}
    assert totals(root, "via_view") == {d: 30 * t for d, t in first.items()}
    assert built_keys(teal(root, "build").stdout, "scaled") == []  # up to date again


def test_changed_only_rebuilds_what_reads_an_edited_file_and_skips_it_otherwise(project):
    root = make(project)
    teal(root, "build")
    plan = json.loads(teal(root, "plan", "--changed-only", "--json").stdout)
    assert plan["not_run"]["scale_total"] == "unchanged since last build: skipped"

    write_scales(root, 5)
    plan = json.loads(teal(root, "plan", "--changed-only", "--json").stdout)
    steps = {s["model"]: s for s in plan["steps"]}
    assert steps["scale_total"]["reason"] == (
        "changed: source ref.scales changed since its last build"
    )
    assert "scales_view" in steps
    teal(root, "build", "--changed-only")
    assert query(db(root), "select total from scale_total") == [(5,)]


def test_a_file_written_again_with_the_same_bytes_counts_as_changed(project):
    root = make(project)
    teal(root, "build", "-s", "+scaled")
    path = root / "data/scales.csv"
    later = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(later, later))
    plan = json.loads(teal(root, "plan", "-s", "scaled", "--json").stdout)
    assert {s["model"]: s["partitions"] for s in plan["steps"]} == {"scaled": DAYS}


GLOB_SOURCES = """
sources:
  - name: landing
    type: csv
    path: ../data/landing/*.csv
    tables:
      - name: orders
      - name: parts
        partitioned_by: {DAILY}
        partition_column: day
"""
DAILY_ORDERS_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select day, count(*) as n from {{table}}
    where day >= {{{{ partition.start }}}} and day < {{{{ partition.end }}}}
    group by 1
"""


def test_a_glob_source_is_stale_when_a_file_lands_but_a_partitioned_one_is_not(project):
    root = project(
        {
            "models/sources.yml": GLOB_SOURCES.replace("{DAILY}", DAILY),
            "models/all_orders.sql": DAILY_ORDERS_SQL.replace("{table}", "landing.orders"),
            "models/by_part.sql": DAILY_ORDERS_SQL.replace("{table}", "landing.parts"),
        }
    )
    landing = root / "data/landing"
    landing.mkdir(parents=True)
    (landing / "a.csv").write_text("day\n2026-01-01\n2026-01-02\n")
    teal(root, "build")
    (landing / "b.csv").write_text("day\n2026-01-02\n")
    plan = json.loads(teal(root, "plan", "--json").stdout)
    steps = {s["model"]: s for s in plan["steps"]}
    # the unpartitioned glob is read whole by every partition: a new file changes them all
    assert steps["all_orders"]["partitions"] == DAYS
    assert set(steps["all_orders"]["partition_reasons"]) == {
        "stale (source landing.orders changed)"
    }
    # which file holds which partition of a partitioned source is not known: not versioned
    assert "by_part" not in steps
    teal(root, "build")
    assert query(db(root), "select strftime(day, '%Y-%m-%d'), n from all_orders order by 1") == [
        ("2026-01-01", 1),
        ("2026-01-02", 2),
    ]
