"""What `teal build` prints for partitioned models and check samples, end to end: a fixture
project built by the real CLI into a DuckDB file, and the lines a user reads.

A model built over many partitions (two-dimensional, a static set, a daily range) is one
line with its partition count; its checks are counted once each, and a check that fails
on some partitions gets one line naming the first of them. The per-partition detail stays
in ``--json``, ``teal runs show`` and ``-v``. A sample failing row is ``column=value``
pairs within 100 columns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, write_project

pytestmark = pytest.mark.slow

CONFIG = """\
name = "output"
threads = 2

[vars]
bad_region = ""
broken_region = ""
"""

# 12 months x 4 regions = 48 partitions; the region named by var bad_region has no revenue,
# the query of the one named by broken_region fails
REGIONAL = """
{{ config(
    materialized='incremental',
    partitioned_by={
        'month': {'type': 'monthly', 'start': '2025-01-01', 'end': '2026-01-01'},
        'region': ['east', 'north', 'south', 'west'],
    },
    partition_column={'month': 'month', 'region': 'region'},
) }}
select
    cast('{{ partition.start }}' as date) as month,
    '{{ partition.region }}' as region,
    case
        when '{{ partition.region }}' = '{{ var("bad_region") }}' then null
        when '{{ partition.region }}' = '{{ var("broken_region") }}'
            then error('no feed for this region')
        else 10
    end as revenue
"""

# a static set of six stores, through a Python asset
STORES = """
import pyarrow as pa
import teal


@teal.asset(partitioned_by=["s1", "s2", "s3", "s4", "s5", "s6"], partition_column="store")
def stores(context):
    return pa.table({"store": [context.partition_key], "sales": [5]})
"""

DAILY = """
{{ config(materialized='incremental',
          partitioned_by={'type': 'daily', 'start': '2025-01-01', 'end': '2025-01-31'},
          partition_column='day') }}
select day, 1 as visits
from (select range::date as day
      from range(date '2025-01-01', date '2025-01-31', interval 1 day)) d
where day >= {{ partition.start }} and day < {{ partition.end }}
"""

# a wide row whose checked column comes last
WIDE = """
select 1 as id,
       'a rather long first name that goes on' as first_name,
       'Somewhere Street 1234, Building B, Floor 7' as address,
       'Lisbon' as city, 'PT' as country_code, 'Portugal' as country_name,
       'Southern Europe' as region, timestamp '2025-11-06 21:00:00' as signed_up_at,
       '' as note, null as email
union all
select 2, 'b', 'c', 'd', 'e', 'f', 'g', timestamp '2025-11-07 00:00:00', 'x', 'b@example.com'
"""

SCHEMA = """
models:
  - name: regional
    columns:
      - name: revenue
        tests: [not_null]
    tests:
      - unique_combination: {columns: [month, region]}
  - name: stores
    columns:
      - name: sales
        tests: [not_null]
  - name: wide
    columns:
      - name: email
        tests:
          - not_null: {severity: warn}
"""

FILES = {
    "models/regional.sql": REGIONAL,
    "models/stores.py": STORES,
    "models/daily.sql": DAILY,
    "models/wide.sql": WIDE,
    "models/schema.yml": SCHEMA,
}

NOT_NULL = "not_null_regional_revenue"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_project(tmp_path / "output", FILES, CONFIG)


def progress(stdout: str) -> list[str]:
    """The lines printed while building (before the summary), without the progress lines a
    slow machine may add to a long step."""
    building = stdout.split("\nFinished in ")[0].splitlines()
    return [line for line in building if "partitions so far" not in line]


def about(lines: list[str], *words: str) -> list[str]:
    return [line for line in lines if any(w in line for w in words)]


def test_each_partitioned_model_is_one_line_with_its_partition_count(root: Path) -> None:
    out = run_teal("build", cwd=root)
    assert out.returncode == 0, out.output
    lines = progress(out.stdout)
    # one line per model and one per check that did not pass; none per partition
    assert len(lines) == 1 + 4 + 1, out.stdout
    [regional] = about(lines, "main.regional")
    assert re.search(
        r"OK +incremental main\.regional +48 rows .*  48 partitions  checks: 2 pass$", regional
    )
    [stores] = about(lines, "main.stores")
    assert stores.endswith("  6 partitions  checks: 1 pass")
    [daily] = about(lines, "main.daily")
    assert "  30 rows  " in daily and daily.endswith("  30 partitions")
    assert not about(lines, "2025-01|", "[ 1/48]", "partitions to build")
    # checks counted once each: 2 on regional, 1 on stores, 1 on wide
    assert "Checks: 4 run, 3 passed, 1 warned:" in out.stdout

    # the detail is still there: -v prints a line per partition, runs show lists them
    # (a new value of a var the model reads makes every partition stale)
    again = run_teal("build", "-s", "regional", "-v", "--vars", "{bad_region: none}", cwd=root)
    assert again.returncode == 0, again.output
    assert len(about(again.stdout.splitlines(), "regional [")) == 48
    assert "regional [ 1/48] OK    2025-01|east  1 row" in again.stdout
    shown = run_teal("runs", "show", "last", cwd=root)
    assert shown.returncode == 0, shown.output
    steps = [
        l for l in shown.stdout.splitlines() if re.match(r"regional +2025-\d\d\|\w+ +1 +success", l)
    ]
    assert len(steps) == 48, shown.stdout


def test_a_check_failing_on_some_partitions_is_one_line_naming_them(root: Path) -> None:
    assert run_teal("build", cwd=root).returncode == 0
    out = run_teal("build", "-s", "regional", "--vars", "{bad_region: south}", cwd=root)
    assert out.returncode == 1, out.output
    lines = progress(out.stdout)
    assert len(lines) == 1 + 2, out.stdout  # the model's line and its failed check's line
    model, check = lines[1:]
    assert re.search(r"ERROR incremental main\.regional .*  12 of 48 partitions failed  ", model)
    assert f"check {NOT_NULL} failed: 1 failing row in partition 2025-01|south" in model
    assert check == (
        f"        FAIL  check {NOT_NULL}  failed on 12 of 48 partitions: "
        "2025-01|south, 2025-02|south, 2025-03|south and 9 more  (12 failing rows)"
    )
    summary = out.stdout.split("\nFinished in ")[1]
    assert "Checks: 2 run, 1 passed, 1 failed:" in summary
    assert (
        f"  FAIL  check {NOT_NULL}  failed on 12 of 48 partitions: "
        "2025-01|south, 2025-02|south, 2025-03|south and 9 more  (12 failing rows)  [regional]"
    ) in summary
    assert "      e.g. in 2025-01|south: month=2025-01-01  region=south  revenue=NULL" in summary

    # every partition's outcome is in --json (the rerun builds the 12 that failed) and in
    # the warehouse
    as_json = run_teal(
        "build", "-s", "regional", "--vars", "{bad_region: south}", "--json", cwd=root
    )
    assert as_json.returncode == 1
    [result] = json.loads(as_json.stdout)["results"]
    failed = sorted(c["partition"] for c in result["checks"] if c["status"] == "fail")
    assert failed == [f"2025-{m:02d}|south" for m in range(1, 13)]
    assert len(result["checks"]) == 2 * 12
    state = query(
        root / "warehouse.duckdb",
        "select count(*) from teal.partition_state where model = 'regional' and status = 'error'",
    )
    assert state == [(12,)]


def test_a_sample_row_is_column_value_pairs_within_100_columns(root: Path) -> None:
    out = run_teal("build", "-s", "wide", cwd=root)
    assert out.returncode == 0, out.output
    [sample] = [line for line in out.stdout.splitlines() if "e.g." in line]
    assert len(sample) <= 100, sample
    # the query's column order; long values cut; the checked column kept; the rest counted
    assert (
        sample
        == "      e.g. id=1  first_name=a rather long first nam…  email=NULL  (+7 more columns)"
    )
    # `teal check` prints its samples the same way
    checked = run_teal("check", "-s", "wide", cwd=root)
    assert sample in checked.stdout.splitlines(), checked.stdout


def test_partitions_failing_with_an_error_are_one_line_naming_them(root: Path) -> None:
    assert run_teal("build", cwd=root).returncode == 0
    out = run_teal("build", "-s", "regional", "--vars", "{broken_region: north}", cwd=root)
    assert out.returncode == 1, out.output
    lines = progress(out.stdout)
    assert len(lines) == 1 + 2, out.stdout
    model, failed = lines[1:]
    assert "  12 of 48 partitions failed  partition 2025-01|north: " in model
    assert failed.startswith(
        "        ERROR on 12 of 48 partitions: 2025-01|north, 2025-02|north, 2025-03|north "
        "and 9 more  "
    )
    assert "no feed for this region" in failed
    # the 36 partitions that built are counted as written, one row each
    assert "Finished in " in out.stdout and "(36 rows written)" in out.stdout, out.stdout


def test_the_first_line_counts_the_selected_models_with_nothing_to_do(root: Path) -> None:
    assert run_teal("build", cwd=root).returncode == 0
    again = run_teal("build", cwd=root)  # the partitioned models are all built already
    assert again.returncode == 0, again.output
    first = again.stdout.splitlines()[0]
    assert re.fullmatch(
        r"Building \d+ models? with \d+ threads? into \S+ \(\d+ more selected models?: "
        r"nothing to do\)",
        first,
    ), first


def test_a_reader_that_leaves_does_not_stop_the_build(root: Path) -> None:
    """`teal build -v 2>&1 | head -1`: once the reader closed the pipe the build goes on,
    silently, and ends as it would have (every partition built, the run a success)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", "build", "-v"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"Building")
    proc.stdout.close()  # as head does after its line
    assert proc.wait(timeout=300) == 0
    assert query(root / "warehouse.duckdb", "select count(*) from regional") == [(48,)]
    shown = run_teal("runs", "show", "last", "--json", cwd=root)
    assert json.loads(shown.stdout)["run"]["status"] == "success", shown.output


def test_json_output_is_json_alone_when_assets_log_and_print(tmp_path: Path) -> None:
    """`teal build --json`: an asset's context.log lines and prints go to stderr, so the
    standard output parses as JSON."""
    root = write_project(
        tmp_path / "logs",
        {
            "models/chatty.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def chatty(context) -> pa.Table:
                context.log.info("building chatty")
                print("a print from the asset")
                return pa.table({"n": [1]})
            """
        },
    )
    done = run_teal("build", "--json", cwd=root)
    assert done.returncode == 0, done.output
    assert json.loads(done.stdout)["success"] is True
    assert "building chatty" in done.stderr and "a print from the asset" in done.stderr
    plain = run_teal("build", cwd=root)
    assert "[chatty] building chatty" in plain.stdout


def test_debug_log_lines_are_kept_in_the_run_log_and_not_printed(tmp_path: Path) -> None:
    """`context.log.debug` lines are recorded with the run (as Dagster's event log keeps
    them), not printed by the build; `teal logs --level` leaves out the levels below it."""
    root = write_project(
        tmp_path / "debug",
        {
            "models/chatty.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def chatty(context) -> pa.Table:
                context.log.debug("chatty's request took %d ms", 12)
                context.log.info("building chatty")
                return pa.table({"n": [1]})
            """
        },
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "[chatty] building chatty" in built.stdout
    assert "request took" not in built.stdout
    logs = run_teal("logs", "last", cwd=root)
    assert re.search(r"DEBUG\s+chatty\s+chatty's request took 12 ms", logs.stdout), logs.output
    assert re.search(r"INFO\s+chatty\s+building chatty", logs.stdout), logs.output
    info = run_teal("logs", "last", "--level", "INFO", cwd=root)  # in either case
    assert "request took" not in info.stdout and "building chatty" in info.stdout
    assert "step_success" in info.stdout  # the run's events all show
    events = [
        json.loads(line)
        for line in run_teal("logs", "last", "--json", cwd=root).stdout.splitlines()
    ]
    assert {"kind": "log", "level": "debug"}.items() <= next(
        e for e in events if "request took" in (e["message"] or "")
    ).items()
    bad = run_teal("logs", "last", "--level", "verbose", cwd=root)
    assert bad.returncode == 2 and "'verbose' is not one of" in bad.stderr


def test_quiet_prints_only_what_went_wrong_and_the_summary(tmp_path: Path) -> None:
    """`teal build -q` (cron, CI logs): no opening line, no line per model built, no info
    log lines of assets; a check that did not pass, a failed model and the summary still
    print, and the run log keeps the info lines the terminal left out."""
    root = write_project(
        tmp_path / "quiet",
        {
            **FILES,
            "models/chatty.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def chatty(context) -> pa.Table:
                context.log.info("building chatty")
                context.log.warning("chatty is running low")
                return pa.table({"n": [1]})
            """,
        },
        CONFIG,
    )
    out = run_teal("build", "-q", cwd=root)
    assert out.returncode == 0, out.output
    lines = progress(out.stdout)
    assert sorted(lines) == [
        "        WARN  check not_null_wide_email  1 failing row  [wide]",  # named: no OK line
        "    [chatty] chatty is running low",  # a warning still shows, an info line does not
    ], out.stdout
    assert out.stdout.startswith(lines[0] + "\n" + lines[1] + "\n\nFinished in ")
    logs = run_teal("logs", "last", "-m", "chatty", cwd=root)
    assert "building chatty" in logs.stdout, logs.output

    failed = run_teal(
        "build", "-s", "regional", "--quiet", "--vars", "{bad_region: south}", cwd=root
    )
    assert failed.returncode == 1, failed.output
    lines = progress(failed.stdout)
    assert len(lines) == 2, failed.stdout  # the model's ERROR line and its failed check's
    assert re.search(r"ERROR incremental main\.regional .*  12 of 48 partitions failed  ", lines[0])
    assert "Failures:" in failed.stdout


DAILY_AMOUNT = """
{{ config(partitioned_by={'daily': {'start': '2025-01-01'}}, partition_column='day') }}
select cast('{{ partition.start }}' as date) as day,
    case when cast('{{ partition.start }}' as date) = date '2025-01-02' then 'lost'
        else 'paid' end as status,
    10 as amount
"""
DAILY_CHECKS = """
models:
  - name: daily_amount
    columns:
      - name: status
        tests:
          - accepted_values: {values: [paid, open], config: {severity: warn}}
          - not_null
      - name: day
        tests: [not_null]
"""


def test_runs_show_names_the_partition_of_each_check_result(tmp_path: Path) -> None:
    """A backfill's checks ran once per partition: `teal runs show` says on which, in its
    table (`--json` too), and a failing row's line names its partition as the build's
    did; 9 rows that read alike would hide which day warned."""
    root = write_project(
        tmp_path / "p",
        {"models/marts/daily_amount.sql": DAILY_AMOUNT, "models/marts/schema.yml": DAILY_CHECKS},
        'name = "p"\nthreads = 1\n',
    )
    done = run_teal(
        "backfill", "daily_amount", "--from", "2025-01-01", "--to", "2025-01-03", cwd=root
    )
    assert done.returncode == 0, done.output
    shown = run_teal("runs", "show", "last", cwd=root)
    assert shown.returncode == 0, shown.output
    [checks] = [
        b.splitlines()
        for b in shown.stdout.split("\n\n")
        if b.startswith("model ") and " check " in b
    ]
    header = re.split(r"\s{2,}", checks[0].strip())
    assert header == ["model", "partition", "check", "status", "failing"], shown.stdout
    rows = [re.split(r"\s{2,}", line.strip()) for line in checks[2:] if line.startswith("daily")]
    accepted = "accepted_values_daily_amount_status"
    assert [r[:4] for r in rows if r[2] == accepted] == [
        ["daily_amount", "2025-01-01", accepted, "pass"],
        ["daily_amount", "2025-01-02", accepted, "warn"],
        ["daily_amount", "2025-01-03", accepted, "pass"],
    ], shown.stdout
    assert len(rows) == 9 and len({(r[1], r[2]) for r in rows}) == 9
    assert f"  {accepted} [daily_amount] e.g. in 2025-01-02: " in shown.stdout
    said = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)["checks"]
    assert sorted(
        (c["partition"], c["check"], c["status"]) for c in said if c["check"] == accepted
    ) == [
        ("2025-01-01", accepted, "pass"),
        ("2025-01-02", accepted, "warn"),
        ("2025-01-03", accepted, "pass"),
    ]
