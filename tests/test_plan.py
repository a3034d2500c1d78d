"""The planner: golden plans per pass, the rewrites' results on DuckDB, and --changed-only.

Golden cases live in tests/golden/<case>/: a project, ``args.json`` (selection, options and
a fake earlier state) and ``expected.txt`` (the exact ``teal plan`` text plus each step's
SQL). After an intended, reviewed change, rewrite them with
``TEAL_UPDATE_GOLDEN=1 python -m pytest tests/test_plan.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import sqlglot

from teal.compiler.plan import ModelState, PlanOptions, PlanState, build_plan
from teal.compiler.project import load_project
from tests.conftest import query, run_teal

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "args.json").is_file())


def _plan_for(case_dir: Path):
    args = json.loads((case_dir / "args.json").read_text())
    # cold every time: a cache left in the source tree by an older teal would hide changes
    shutil.rmtree(case_dir / ".teal", ignore_errors=True)
    project = load_project(case_dir)
    models = {}
    for name, rec in args.get("state", {}).items():
        sql_hash = project.models[name].sql_hash if rec["hash"] == "current" else rec["hash"]
        models[name] = ModelState(
            sql_hash=sql_hash,
            finished_at=datetime.fromisoformat(rec["finished_at"]),
            duration_ms=float(rec.get("duration_ms", 0)),
        )
    relations = args.get("relations")
    if relations is None:
        relations = [project.models[n].relation for n in models]
    state = PlanState(models=models, relations=frozenset(r.lower() for r in relations))
    plan = build_plan(
        project,
        args["select"],
        args["exclude"],
        state=state,
        options=PlanOptions(**args["options"]),
    )
    return project, plan


def _render(plan) -> str:
    out = [plan.explain()]
    for step in plan.steps:
        if step.sql:
            pretty = sqlglot.transpile(step.sql, read="duckdb", write="duckdb", pretty=True)[0]
            out.append(f"\n-- {step.model} ({step.sql_hash})\n{pretty}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("case", CASES)
def test_golden_plan(case: str) -> None:
    case_dir = GOLDEN / case
    _, plan = _plan_for(case_dir)
    got = _render(plan)
    expected_file = case_dir / "expected.txt"
    if os.environ.get("TEAL_UPDATE_GOLDEN") or not expected_file.exists():
        expected_file.write_text(got)
    assert got == expected_file.read_text()


def _run_in_memory(plan) -> duckdb.DuckDBPyConnection:
    """Execute a plan's SQL steps on in-memory DuckDB, the way the warehouse layer does."""
    con = duckdb.connect()
    for step in plan.steps:
        schema, name = step.relation.split(".")
        con.execute(f'create schema if not exists "{schema}"')
        kind = "view" if step.action == "view" else "table"
        con.execute(f'create or replace {kind} "{schema}"."{name}" as {step.sql}')
    return con


def test_ephemeral_inlining_gives_the_same_rows_as_real_relations() -> None:
    project, plan = _plan_for(GOLDEN / "ephemeral_inlining")
    con = _run_in_memory(plan)
    assert con.execute("select grp, n, one from marts.report order by grp").fetchall() == [
        (0, 2, 1),
        (1, 1, 1),
        (2, 2, 1),
    ]
    assert con.execute("select list(id) from marts.evens_list").fetchone()[0] == [0, 2, 4, 6, 8]
    # the ephemerals exist nowhere in the warehouse
    rels = {
        r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
    }
    assert "evens" not in rels and "evens_by_group" not in rels
    assert set(plan.not_run) == {"evens", "evens_by_group"}


def test_inline_views_keeps_results_and_drops_the_single_consumer_views() -> None:
    case = GOLDEN / "inline_views"
    _, inlined = _plan_for(case)
    project = load_project(case)
    plain = build_plan(project, ["+final"], [])
    assert {s.model for s in plain.steps} == {"v1", "v2", "shared", "final"}
    # v1 and v2 are read by one model each: inlined; shared has two readers: kept
    assert {s.model for s in inlined.steps} == {"shared", "final"}
    assert inlined.step("final").inlined == ("v1", "v2")
    a = _run_in_memory(plain).execute("select * from marts.final order by x").fetchall()
    b = _run_in_memory(inlined).execute("select * from marts.final order by x").fetchall()
    assert a == b == [(0, 3), (10, 3), (20, 3), (30, 3), (40, 3)]


def test_inline_views_never_inlines_a_view_selected_by_name() -> None:
    project = load_project(GOLDEN / "inline_views")
    plan = build_plan(project, ["v2 final"], [], options=PlanOptions(inline_views=True))
    assert {s.model for s in plan.steps} == {"v2", "final"}


def test_critical_path_starts_the_longest_chain_first() -> None:
    _, plan = _plan_for(GOLDEN / "critical_path")
    order = [s.model for s in plan.steps]
    # slow_root (9 s) starts first, then the 3-step chain behind fast_root, alone last
    assert order[0] == "slow_root"
    assert order.index("fast_root") < order.index("alone")
    assert order.index("long_1") < order.index("long_2") < order.index("long_3")


def test_skip_unchanged_reasons() -> None:
    _, plan = _plan_for(GOLDEN / "skip_unchanged")
    reasons = {s.model: s.reason for s in plan.steps}
    assert reasons == {
        "brand_new": "new: never built",
        "edited": "modified: SQL or config changed since last build",
        "gone": "missing: staging.gone does not exist",
        "reads_edited": "upstream edited rebuilds",
        "late": "upstream upstream_newer was rebuilt after it",
    }
    assert plan.not_run == {
        "same": "unchanged since last build: skipped",
        "reads_same": "unchanged since last build: skipped",
        "upstream_newer": "unchanged since last build: skipped",
    }


CHANGED_ONLY_PROJECT = {
    "models/staging/a.sql": "select range as id from range(4)\n",
    "models/staging/b.sql": "select id, id * 2 as doubled from a\n",
    "models/marts/c.sql": "{{ config(materialized='table') }}\nselect * from b\n",
    "models/marts/other.sql": "{{ config(materialized='table') }}\nselect 1 as one\n",
}


def _built(out: str) -> set[str]:
    """Model names from the build log's OK lines (``[1/4] OK    view   staging.a ...``)."""
    return {m.group(1) for m in re.finditer(r"^\[[ \d/]+\] OK\s+\w+\s+\w+\.(\w+)", out, re.M)}


def test_changed_only_rebuilds_only_what_changed(project) -> None:
    root = project(CHANGED_ONLY_PROJECT)
    first = run_teal("build", "--changed-only", cwd=root)
    assert first.returncode == 0, first.output
    assert _built(first.stdout) == {"a", "b", "c", "other"}

    second = run_teal("build", "--changed-only", cwd=root)
    assert second.returncode == 0, second.output
    assert _built(second.stdout) == set()
    assert "Nothing to build" in second.stdout

    # reformatting and a comment are not changes
    (root / "models/staging/b.sql").write_text(
        "-- doubled ids\nSELECT\n    id,\n    id * 2 AS doubled\nFROM a\n"
    )
    third = run_teal("build", "--changed-only", cwd=root)
    assert _built(third.stdout) == set(), third.output

    # a real change rebuilds the model and its descendants only
    (root / "models/staging/b.sql").write_text("select id, id * 3 as doubled from a\n")
    plan = run_teal("plan", "--changed-only", cwd=root)
    assert "modified: SQL or config changed" in plan.stdout
    fourth = run_teal("build", "--changed-only", cwd=root)
    assert fourth.returncode == 0, fourth.output
    assert _built(fourth.stdout) == {"b", "c"}
    assert query(root / "warehouse.duckdb", "select sum(doubled) from marts.c") == [(18,)]


def test_plan_json_matches_what_build_runs(project) -> None:
    root = project(CHANGED_ONLY_PROJECT)
    planned = run_teal("plan", "--json", "-s", "b+", cwd=root)
    assert planned.returncode == 0, planned.output
    steps = [s["model"] for s in json.loads(planned.stdout)["steps"]]
    built = run_teal("build", "--json", "-s", "b+", cwd=root)
    assert built.returncode == 1  # a is not built yet, so b's view cannot be created
    ran = [r["model"] for r in json.loads(built.stdout)["results"]]
    assert ran == steps == ["b", "c"]


def test_plan_keeps_the_state_it_read_until_anything_writes_the_warehouse(project) -> None:
    """`teal plan` reads earlier runs' state from the warehouse once and keeps it while the
    file is unchanged: a second plan works even while another process holds the file. Any
    write, by teal or by anything else, makes the next plan read the warehouse again."""
    root = project({"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"})
    assert run_teal("build", cwd=root).returncode == 0
    kept = root / ".teal/cache/state.pickle"
    first = run_teal("plan", "--changed-only", cwd=root)
    assert "0 steps, 2 without a step" in first.stdout, first.output
    assert not kept.exists()  # written in the last two seconds: not trusted to stay unchanged
    written = (root / "warehouse.duckdb").stat().st_mtime - 10
    os.utime(root / "warehouse.duckdb", (written, written))  # as if the build were older
    assert run_teal("plan", "--changed-only", cwd=root).stdout == first.stdout
    assert kept.exists()

    holder = subprocess.Popen(  # another process holds the warehouse open for writing
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); sys.stdin.read()",
            str(root / "warehouse.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        held = run_teal("plan", "--changed-only", cwd=root)
        assert held.returncode == 0 and held.stdout == first.stdout, held.output
    finally:
        holder.communicate("")

    con = duckdb.connect(str(root / "warehouse.duckdb"))  # someone drops a view by hand
    con.execute("drop view main.b")
    con.close()
    after = run_teal("plan", "--changed-only", cwd=root)
    assert "missing: main.b does not exist" in after.stdout, after.output
