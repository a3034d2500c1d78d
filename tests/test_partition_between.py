"""``BETWEEN ... AND {{ partition.end }}`` in a partitioned model, as SQLMesh's ``BETWEEN
@start_ds AND @end_ds`` reads when ported: ``partition.end`` is exclusive, so it takes the
next day's rows too. teal says so at the placeholder before anything runs (a warning; an
error under ``--strict``), and the partitions that meet such rows fail them."""

from __future__ import annotations

import pytest

from .conftest import run_teal

NOW = {"TEAL_NOW": "2026-01-04T00:00:00"}
DAILY = "{'daily': {'start': '2026-01-01', 'end': '2026-01-04'}}"
DAYS_SQL = (
    f"{{{{ config(materialized='incremental', partitioned_by={DAILY}, "
    "partition_column='day') }}\n"
    "select d::date as day from range(DATE '2026-01-01', DATE '2026-01-04', "
    "INTERVAL 1 DAY) t(d)\n"
    "where d between {{ partition.start }} and {{ partition.end }}\n"
)
WARNING = (
    "models/days.sql:3:43: BETWEEN ... AND {{ partition.end }} also takes the rows at the "
    "next partition's start"
)


@pytest.mark.slow
def test_between_up_to_the_partition_end_is_a_located_warning_then_fails_the_stray_rows(
    project,
):
    root = project({"models/days.sql": DAYS_SQL})
    planned = run_teal("plan", cwd=root, env=NOW)
    assert planned.returncode == 0, planned.output
    assert f"warning: {WARNING}" in planned.stderr
    assert "hint: compare with `x >= {{ partition.start }} and x < {{ partition.end }}`" in (
        planned.stderr
    )
    strict = run_teal("--strict", "plan", cwd=root, env=NOW)
    assert strict.returncode == 2 and WARNING in strict.stderr, strict.output
    assert "Traceback" not in strict.output
    # as the warning says: each day but the last takes the next day's row, and fails it
    built = run_teal("build", cwd=root, env=NOW)
    assert built.returncode == 1, built.output
    assert "2 of 3 partitions failed" in built.stdout
    # written with an exclusive end, nothing is said and every day builds
    fixed = DAYS_SQL.replace(
        "d between {{ partition.start }} and {{ partition.end }}",
        "d >= {{ partition.start }} and d < {{ partition.end }}",
    )
    (root / "models" / "days.sql").write_text(fixed)
    built = run_teal("build", cwd=root, env=NOW)
    assert built.returncode == 0 and "warning" not in built.stderr, built.output
