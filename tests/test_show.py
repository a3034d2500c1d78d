"""``teal show`` (dbt's ``dbt show``): a model's query run now on the warehouse opened
read-only, its first rows printed as a table or JSON; an ad-hoc query with ``--inline``.
Every test runs the real command line on a project written here."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_teal
from tests.test_dbt_front_end import dbt_project

ENV = {"TEAL_RUN_STORE": "none"}

EVENTS = "select range as id, DATE '2026-01-01' + (range % 4)::int as day from range(12)\n"
DAILY = """
{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-04'}}) }}
select day, count(*) as n from events
where day >= {{ partition.start }} and day < {{ partition.end }}
group by day
"""
# its is_incremental() variant reads only the rows after those its table holds
RECENT = """
{{ config(materialized='incremental', unique_key='id') }}
select id from events
{% if is_incremental() %} where id > (select max(id) - 2 from {{ this }}) {% endif %}
"""
FILES = {
    "models/staging/events.sql": EVENTS,
    "models/marts/daily.sql": DAILY,
    "models/marts/recent.sql": RECENT,
    # its own ORDER BY and LIMIT: the preview's limit must not change which rows it gives
    "models/marts/top.sql": "select id from events order by id desc limit 3;\n",
    "models/marts/ids.py": "import teal\n\n\n@teal.asset\ndef ids(events):\n    return events\n",
}


def _built(project) -> Path:  # type: ignore[no-untyped-def]
    root = project(FILES)
    done = run_teal("build", "-q", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    return root


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_show_prints_a_models_first_rows_and_writes_nothing(project) -> None:  # type: ignore[no-untyped-def]
    root = _built(project)
    db = root / "warehouse.duckdb"
    before = (_digest(db), db.stat().st_mtime_ns)
    shown = run_teal("show", "-s", "events", cwd=root, env=ENV)
    assert shown.returncode == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[:3] == ["Previewing events:", "id  day", "--  ----------"]
    assert lines[3:8] == [f"{i:<2}  2026-01-0{i % 4 + 1}" for i in range(5)]  # dbt's default 5
    assert lines[-1] == "5 rows (--limit N shows more)"
    # the query's own ORDER BY and LIMIT keep their meaning under --limit
    top = run_teal("show", "--select", "top", "--limit", "2", "--output", "json", cwd=root, env=ENV)
    assert top.returncode == 0, top.output
    assert json.loads(top.stdout) == {"node": "top", "show": [{"id": 11}, {"id": 10}]}
    assert (_digest(db), db.stat().st_mtime_ns) == before


@pytest.mark.slow
def test_show_before_any_build_runs_the_query_without_creating_a_warehouse(project) -> None:  # type: ignore[no-untyped-def]
    root = project(FILES)
    shown = run_teal("show", "-s", "events", "--limit", "-1", "--json", cwd=root, env=ENV)
    assert shown.returncode == 0, shown.output
    assert [r["id"] for r in json.loads(shown.stdout)["show"]] == list(range(12))
    assert json.loads(shown.stdout)["show"][1] == {"id": 1, "day": "2026-01-02"}
    assert not (root / "warehouse.duckdb").exists()
    # what it reads is not built: the engine's error at the model's file, exit 1
    failed = run_teal("show", "-s", "recent", cwd=root, env=ENV)
    assert failed.returncode == 1, failed.output
    assert failed.stderr.startswith("models/marts/recent.sql: Catalog Error: Table with name")
    assert "build what it reads first (`teal build -s +recent`)" in failed.stderr


@pytest.mark.slow
def test_a_partitioned_model_shows_its_latest_partition_or_the_one_asked(project) -> None:  # type: ignore[no-untyped-def]
    root = _built(project)
    latest = run_teal("show", "-s", "daily", "--json", cwd=root, env=ENV)
    assert latest.returncode == 0, latest.output
    assert json.loads(latest.stdout)["show"] == [{"day": "2026-01-03", "n": 3}]
    assert "note: partition 2026-01-03, the latest (--partition KEY shows another)" in latest.stderr
    asked = run_teal(
        "show", "-s", "daily", "--partition", "2026-01-01", "--json", cwd=root, env=ENV
    )
    assert json.loads(asked.stdout)["show"] == [{"day": "2026-01-01", "n": 3}]
    # a key past the end: the range and the nearest key, as `teal build --partition` says
    wrong = run_teal("show", "-s", "daily", "--partition", "2026-01-09", cwd=root, env=ENV)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith(
        "--partition: '2026-01-09' is after the last daily partition '2026-01-03' (model "
        "daily: daily from 2026-01-01 to 2026-01-04 (exclusive), UTC)"
    )
    assert "hint: the last partition is '2026-01-03'" in wrong.stderr
    early = run_teal("show", "-s", "daily", "--partition", "2025-12-30", cwd=root, env=ENV)
    assert early.returncode == 2
    assert "'2025-12-30' is before the first daily partition '2026-01-01'" in early.stderr
    assert "hint: these partitions start at '2026-01-01'" in early.stderr


@pytest.mark.slow
def test_an_incremental_model_shows_its_is_incremental_query_once_its_table_exists(project) -> None:  # type: ignore[no-untyped-def]
    root = project(FILES)
    full = run_teal("show", "-s", "events", "-s", "recent", cwd=root, env=ENV)  # two: refused
    assert full.returncode == 2
    assert "`teal show` previews one model, and 'events recent' selects 2" in full.stderr
    assert run_teal("build", "-q", cwd=root, env=ENV).returncode == 0
    shown = run_teal("show", "-s", "recent", "--limit", "-1", "--json", cwd=root, env=ENV)
    assert shown.returncode == 0, shown.output
    assert json.loads(shown.stdout)["show"] == [{"id": 10}, {"id": 11}]
    assert "note: its is_incremental() SQL: marts.recent exists" in shown.stderr


@pytest.mark.slow
def test_show_refuses_a_python_model_and_an_unknown_name_with_the_place(project) -> None:  # type: ignore[no-untyped-def]
    root = project(FILES)
    python = run_teal("show", "-s", "ids", cwd=root, env=ENV)
    assert python.returncode == 2
    assert python.stderr.startswith(
        "models/marts/ids.py:4:1: `teal show` runs a model's SQL, and 'ids' is a Python model"
    )
    unknown = run_teal("show", "-s", "evnts", cwd=root, env=ENV)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("--select: 'evnts' matches no model")
    assert "did you mean 'events'?" in unknown.stderr
    nothing = run_teal("show", cwd=root, env=ENV)
    assert nothing.returncode == 2
    assert "name a model (-s MODEL) or give a query (--inline 'select ...')" in nothing.stderr


@pytest.mark.slow
def test_inline_queries_read_models_by_name_and_unknown_names_are_located(project) -> None:  # type: ignore[no-untyped-def]
    root = _built(project)
    query = "select count(*) as n, max(t.id) as top from events join marts.top t using (id)"
    shown = run_teal("show", "--inline", query, cwd=root, env=ENV)
    assert shown.returncode == 0, shown.output
    assert shown.stdout.splitlines()[:4] == [
        "Previewing inline query:",
        "n  top",
        "-  ---",
        "3  11",
    ]
    wrong = run_teal("show", "--inline", "select *\nfrom evnts", "--json", cwd=root, env=ENV)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("--inline:2:6: 'evnts' is not a model or a declared source")
    assert "did you mean 'events'?" in wrong.stderr
    assert json.loads(wrong.stdout)["errors"][0]["path"] == "--inline"


@pytest.mark.slow
def test_show_says_so_when_a_build_holds_the_warehouse(project) -> None:  # type: ignore[no-untyped-def]
    root = _built(project)
    holder = subprocess.Popen(  # a writer, as a build is: DuckDB lets no other process in
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(root / "warehouse.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        busy = run_teal("show", "-s", "events", cwd=root, env=ENV)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert busy.returncode == 2
    assert "warehouse.duckdb is in use by another process" in busy.stderr


SHOP_MODELS = {
    "models/staging/eph.sql": "{{ config(materialized='ephemeral') }}\n"
    "select id * 10 as big from {{ ref('stg_people') }}\n",
}


@pytest.mark.slow
def test_dbt_show_runs_a_models_sql_and_an_inline_query_with_refs(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "shop", SHOP_MODELS)
    assert run_teal("seed", cwd=root, env=ENV).returncode == 0  # what stg_people reads
    shown = run_teal("show", "-s", "stg_people", "--output", "json", cwd=root, env=ENV)
    assert shown.returncode == 0, shown.output
    assert json.loads(shown.stdout) == {
        "node": "stg_people",
        "show": [
            {"id": 1, "name": "Ann", "joined": "2024-01-02"},
            {"id": 2, "name": "Bo", "joined": None},
        ],
    }
    # an ephemeral model read by ref is injected as dbt injects it (it reads the view)
    assert run_teal("run", "-s", "stg_people", cwd=root, env=ENV).returncode == 0
    inline = "select max(big) as top from {{ ref('eph') }}"
    found = run_teal("show", "--inline", inline, "--output", "json", cwd=root, env=ENV)
    assert found.returncode == 0, found.output
    assert json.loads(found.stdout) == {"show": [{"top": 20}]}
    wrong = run_teal("show", "--inline", "select * from {{ ref('stg_peple') }}", cwd=root, env=ENV)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith(
        "--inline:1:18: ref('stg_peple') is not a model, seed or snapshot"
    )
    assert "did you mean 'stg_people'?" in wrong.stderr


@pytest.mark.slow
def test_json_is_strict_json_and_intervals_and_blobs_read_as_duckdb_writes_them(project) -> None:  # type: ignore[no-untyped-def]
    root = project({"models/a.sql": "select 1 as x"})
    query = (
        "select 'nan'::double as nn, [1.5, 'inf'::double] as l, interval 1 day as iv, "
        "-interval 90 minute as back, 'x'::blob as b"
    )
    shown = run_teal("show", "--inline", query, "--json", cwd=root, env=ENV)
    assert shown.returncode == 0, shown.output

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    rows = json.loads(shown.stdout, parse_constant=refuse)["show"]
    assert rows == [{"nn": None, "l": [1.5, None], "iv": "1 day", "back": "-01:30:00", "b": "x"}]
    table = run_teal("show", "--inline", "select interval 1 day as iv", cwd=root, env=ENV)
    assert "\n1 day\n" in table.stdout, table.output


@pytest.mark.slow
def test_a_dbt_snapshot_shows_its_query_not_its_change_detection(tmp_path: Path) -> None:
    from tests.test_dbt_test_state import _jaffle

    work, env = _jaffle(tmp_path)
    assert run_teal("build", "-q", cwd=work, env=env).returncode == 0
    shown = run_teal("show", "-s", "orders_snapshot", "--json", cwd=work, env=env)
    assert shown.returncode == 0, shown.output
    rows = json.loads(shown.stdout)["show"]
    assert len(rows) == 5 and all(r["dbt_valid_to"] is None for r in rows)
    assert "is_incremental" not in shown.stderr
