"""The planner: golden plans per pass, the rewrites' results on DuckDB, and --changed-only.

Golden cases live in tests/golden/<case>/: a project, ``args.json`` (selection, options and
a fake earlier state) and ``expected.txt`` (the exact ``teal plan`` text plus each step's
SQL, as the warehouse runs it). A case may plan its project more than one way:
``args.<variant>.json`` goes with ``expected.<variant>.txt``. Each case runs on a copy of its
folder in a tmp dir, so no cache or target folder lands in the source tree. A missing
expected file fails the test; after an intended, reviewed change, rewrite them with
``python -m pytest tests/test_plan.py --update-golden`` (tests/README.md).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from dataclasses import replace as dc_replace
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from teal.compiler.plan import ModelState, PlanOptions, PlanState, build_plan
from teal.compiler.project import load_project
from teal.runtime.kept_state import load_kept
from tests.conftest import assert_golden, query, run_teal

GOLDEN = Path(__file__).parent / "golden"
# (case, variant): args.json is variant "", args.<variant>.json is variant <variant>
CASES = sorted(
    (case.name, args.name[len("args.") : -len("json")].rstrip("."))
    for case in GOLDEN.iterdir()
    for args in case.glob("args*.json")
)


def _copy(case: str, tmp_path: Path) -> Path:
    """The case's project, copied (without caches or outputs) to where a test may write."""
    root = tmp_path / case
    shutil.copytree(
        GOLDEN / case, root, ignore=shutil.ignore_patterns(".teal", "target", "expected*.txt")
    )
    return root


def _options(raw: dict) -> PlanOptions:
    """args.json's options as PlanOptions: ``now`` is an ISO time, key lists become tuples."""
    opts = dict(raw)
    if opts.get("now") is not None:
        opts["now"] = datetime.fromisoformat(opts["now"])
    for key in ("partition_keys", "partition_range"):
        if opts.get(key) is not None:
            opts[key] = tuple(opts[key])
    return PlanOptions(**opts)


def _plan_for(case: str, tmp_path: Path, variant: str = ""):
    """Load a copy of golden ``case`` and plan it with ``args[.variant].json``.

    args: ``select``/``exclude`` lists, ``options`` (PlanOptions fields), ``state`` (model ->
    ``hash`` ("current" for the model's version now), ``finished_at``, ``duration_ms``),
    ``relations`` that exist (default: those of the models in ``state``), ``last_results``
    (model -> success|error) and ``partitions`` (model -> key -> status)."""
    root = _copy(case, tmp_path)
    args = json.loads((root / (f"args.{variant}.json" if variant else "args.json")).read_text())
    project = load_project(root)
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
    partitions = {
        model: {key: {"status": status} for key, status in keys.items()}
        for model, keys in args.get("partitions", {}).items()
    }
    state = PlanState(
        models=models,
        last_results=args.get("last_results", {}),
        relations=frozenset(r.lower() for r in relations),
        partitions=partitions,
    )
    plan = build_plan(
        project,
        args.get("select", []),
        args.get("exclude", []),
        state=state,
        options=_options(args.get("options", {})),
    )
    return project, plan


def _render(plan, root: Path) -> str:
    """``teal plan``'s text, then each step's SQL exactly as the warehouse gets it (the
    project's folder, which differs per run, written as <project>)."""
    out = [plan.explain()]
    for step in plan.steps:
        if step.sql:
            out.append(f"\n-- {step.model} ({step.sql_hash})\n{step.sql}")
    return "\n".join(out).replace(str(root), "<project>") + "\n"


@pytest.mark.parametrize(("case", "variant"), CASES, ids=[f"{c}.{v}" if v else c for c, v in CASES])
def test_golden_plan(case: str, variant: str, tmp_path: Path, update_golden: bool) -> None:
    project, plan = _plan_for(case, tmp_path, variant)
    expected = GOLDEN / case / (f"expected.{variant}.txt" if variant else "expected.txt")
    assert_golden(
        expected,
        _render(plan, project.root),
        update=update_golden,
        test_file="tests/test_plan.py",
    )


def test_golden_cases_hold_only_their_projects() -> None:
    """Golden tests run on copies: nothing a load or a build writes is in tests/golden."""
    written = sorted(
        str(p.relative_to(GOLDEN))
        for name in (".teal", "target", "*.duckdb", "*.duckdb.wal")
        for p in GOLDEN.glob(f"*/{name}")
    )
    assert not written, f"outputs in tests/golden (delete them; a test wrote them): {written}"


def _run_in_memory(plan, con: duckdb.DuckDBPyConnection | None = None):
    """Execute a plan's SQL steps on in-memory DuckDB, the way the warehouse layer does."""
    con = con or duckdb.connect()
    for step in plan.steps:
        schema, name = step.relation.split(".")
        con.execute(f'create schema if not exists "{schema}"')
        kind = "view" if step.action == "view" else "table"
        con.execute(f'create or replace {kind} "{schema}"."{name}" as {step.sql}')
    return con


def test_ephemeral_inlining_gives_the_same_rows_as_real_relations(tmp_path: Path) -> None:
    project, plan = _plan_for("ephemeral_inlining", tmp_path)
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


def test_inline_views_keeps_results_and_drops_the_single_consumer_views(tmp_path: Path) -> None:
    project, inlined = _plan_for("inline_views", tmp_path)
    plain = build_plan(project, ["+final"], [])
    assert {s.model for s in plain.steps} == {"v1", "v2", "shared", "final"}
    # v1 and v2 are read by one model each: inlined; shared has two readers: kept
    assert {s.model for s in inlined.steps} == {"shared", "final"}
    assert inlined.step("final").inlined == ("v1", "v2")
    a = _run_in_memory(plain).execute("select * from marts.final order by x").fetchall()
    b = _run_in_memory(inlined).execute("select * from marts.final order by x").fetchall()
    assert a == b == [(0, 3), (10, 3), (20, 3), (30, 3), (40, 3)]


def test_inline_views_never_inlines_a_view_selected_by_name(tmp_path: Path) -> None:
    project = load_project(_copy("inline_views", tmp_path))
    plan = build_plan(project, ["v2 final"], [], options=PlanOptions(inline_views=True))
    assert {s.model for s in plan.steps} == {"v2", "final"}


def replace_step_sql(plan, old: str, new: str):
    return plan.with_steps([dc_replace(s, sql=(s.sql or "").replace(old, new)) for s in plan.steps])


def test_sql_compiled_in_the_authors_text_reads_the_relations_and_sources(
    tmp_path: Path,
) -> None:
    _, plan = _plan_for("splice_references", tmp_path)
    (tmp_path / "customers.csv").write_text("id,name\n10,ann\n20,bob\n,nobody\n")
    local = replace_step_sql(plan, "s3://files/", f"{tmp_path}/")
    con = duckdb.connect()
    con.execute("create schema landing")
    con.execute(
        "create table landing.orders as select * from (values (1, 10, 250, 'paid'), "
        "(2, 10, 1000, 'paid'), (3, 20, 500, 'test'), (4, 20, 100, 'open')) "
        "t(id, customer_id, amount, status)"
    )
    _run_in_memory(local, con)
    assert con.execute("select * from marts.order_totals order by 1").fetchall() == [
        (10, "ANN", 12.5),
        (20, "BOB", 1.0),
    ]
    assert con.execute("select count(*) <= 3 from marts.sampled").fetchone() == (True,)


def test_critical_path_starts_the_longest_chain_first(tmp_path: Path) -> None:
    _, plan = _plan_for("critical_path", tmp_path)
    order = [s.model for s in plan.steps]
    # slow_root (9 s) starts first, then the 3-step chain behind fast_root, alone last
    assert order[0] == "slow_root"
    assert order.index("fast_root") < order.index("alone")
    assert order.index("long_1") < order.index("long_2") < order.index("long_3")


def test_skip_unchanged_reasons(tmp_path: Path) -> None:
    _, plan = _plan_for("skip_unchanged", tmp_path)
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


def test_skip_unchanged_rebuilds_what_it_cannot_tell_exists(tmp_path: Path) -> None:
    """A state read without the catalog's listing (``Engine.plan_state(relations=False)``,
    which a build that skips nothing asks for) never lets an unchanged model be skipped
    as if its relation were there."""
    root = _copy("skip_unchanged", tmp_path)
    project = load_project(root)
    done = datetime(2026, 1, 1)
    state = PlanState(
        models={n: ModelState(m.sql_hash, done, 0.0) for n, m in project.models.items()},
        relations=None,
    )
    plan = build_plan(project, ["same"], [], state=state, options=PlanOptions(changed_only=True))
    assert [(s.model, s.reason) for s in plan.steps] == [
        ("same", "not known to exist: the warehouse's relations were not listed (staging.same)")
    ]


CHANGED_ONLY_PROJECT = {
    "models/staging/a.sql": "select range as id from range(4)\n",
    "models/staging/b.sql": "select id, id * 2 as doubled from a\n",
    "models/marts/c.sql": "{{ config(materialized='table') }}\nselect * from b\n",
    "models/marts/other.sql": "{{ config(materialized='table') }}\nselect 1 as one\n",
}


def _built(out: str) -> set[str]:
    """Model names from the build log's OK lines (``[1/4] OK    view   staging.a ...``)."""
    return {m.group(1) for m in re.finditer(r"^\[[ \d/]+\] OK\s+\w+\s+\w+\.(\w+)", out, re.M)}


@pytest.mark.slow
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


@pytest.mark.slow
def test_plan_json_matches_what_build_runs(project) -> None:
    root = project(CHANGED_ONLY_PROJECT)
    assert run_teal("build", "-s", "a", cwd=root).returncode == 0
    planned = run_teal("plan", "--json", "-s", "b+", cwd=root)
    assert planned.returncode == 0, planned.output
    steps = [s["model"] for s in json.loads(planned.stdout)["steps"]]
    built = run_teal("build", "--json", "-s", "b+", cwd=root)
    assert built.returncode == 0, built.output
    ran = [r["model"] for r in json.loads(built.stdout)["results"]]
    assert ran == steps == ["b", "c"]


@pytest.mark.slow
def test_plan_keeps_the_state_it_read_until_anything_writes_the_warehouse(project) -> None:
    """`teal plan` reads earlier runs' state from the warehouse once and keeps it while the
    file is unchanged: a second plan works even while another process holds the file. Any
    write, by teal or by anything else, makes the next plan read the warehouse again."""
    root = project({"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"})
    assert run_teal("build", cwd=root).returncode == 0
    kept = root / ".teal/cache/state.pickle"
    # as if the build had just finished (a slow machine may take longer than the racy window
    # between the build and the plan): state read from it is not trusted to stay unchanged
    just = time.time() + 1
    os.utime(root / "warehouse.duckdb", (just, just))
    first = run_teal("plan", "--changed-only", cwd=root)
    assert "0 steps, 2 without a step" in first.stdout, first.output
    assert load_kept(kept)["identity"] is None  # kept only for a busy file
    written = time.time() - 10
    os.utime(root / "warehouse.duckdb", (written, written))  # as if the build were older
    assert run_teal("plan", "--changed-only", cwd=root).stdout == first.stdout
    assert load_kept(kept)["identity"] is not None

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


def test_evolve_copies_a_step_with_changes_as_replace_does():
    """The plan passes copy steps with compiler.frozen.evolve (replace without __init__):
    the copy equals what dataclasses.replace gives, and a name that is not a field is
    refused rather than added."""
    from dataclasses import replace

    import pytest

    from teal.compiler.frozen import evolve
    from teal.compiler.plan import Step

    step = Step("m", "table", "main.m", ("a",), "new", "h", "models/m.sql", sql="select 1")
    copied = evolve(step, priority=2.5, depends_on=())
    assert copied == replace(step, priority=2.5, depends_on=())
    assert step.priority == 0.0 and step.depends_on == ("a",)  # the original is unchanged
    assert hash(copied) == hash(replace(step, priority=2.5, depends_on=()))
    with pytest.raises(TypeError, match="no field priorty"):
        evolve(step, priorty=1.0)


@pytest.mark.slow
def test_planned_versions_read_late_and_in_any_order_equal_the_tuple(tmp_path: Path) -> None:
    """A step's partition versions are computed when first read: reading the last model of
    a long chain first (no recursion down the chain), then the others, gives the same
    versions as reading them in build order, and a copy or pickle is the plain tuple."""
    daily = "{'daily': {'start': '2026-01-01', 'end': '2026-01-04'}}"
    head = f"{{{{ config(materialized='incremental', partitioned_by={daily}, partition_column='d') }}}}"
    models = tmp_path / "models"
    models.mkdir(parents=True)
    (tmp_path / "teal.toml").write_text('name = "chain"\n')
    (models / "m000.sql").write_text(
        head + "\nselect d from range({{ partition.start }}, {{ partition.end }}, "
        "interval 1 day) t(d)"
    )
    for i in range(1, 400):
        (models / f"m{i:03d}.sql").write_text(head + f"\nselect d from m{i - 1:03d}")
    project = load_project(tmp_path)
    options = PlanOptions(now=datetime(2026, 3, 1))
    late = build_plan(project, state=PlanState(), options=options)
    in_order = build_plan(project, state=PlanState(), options=options)
    last = late.steps[-1]
    assert last.model == "m399" and len(last.partition_versions) == 3
    reversed_reads = {s.model: tuple(s.partition_versions) for s in reversed(late.steps)}
    ordered_reads = {s.model: tuple(s.partition_versions) for s in in_order.steps}
    assert reversed_reads == ordered_reads
    assert len({v for vs in ordered_reads.values() for v in vs}) == 400 * 3
    assert last.partition_versions == ordered_reads["m399"]
    assert pickle.loads(pickle.dumps(last)).partition_versions == ordered_reads["m399"]
    assert type(pickle.loads(pickle.dumps(last.partition_versions))) is tuple


def test_a_step_reading_through_an_unselected_view_waits_for_what_the_view_shows(
    tmp_path: Path,
):
    """`-s events -s mart` where mart reads events through view stg, not selected: stg is
    not made again, so mart reads events through it and must wait for events' step (they
    ran at once, mart reading the table while it was replaced)."""
    from tests.conftest import write_project

    root = write_project(
        tmp_path / "p",
        {
            "models/events.sql": "{{ config(materialized='table') }} select 1 as x",
            "models/stg.sql": "select * from events",
            "models/mart.sql": "{{ config(materialized='table') }} select * from stg",
        },
        'name = "p"\n',
    )
    project = load_project(root)
    plan = build_plan(project, ["events", "mart"], state=PlanState())
    assert {s.model: s.depends_on for s in plan.steps} == {"events": (), "mart": ("events",)}
    # selected, the view is a step of its own, and mart waits for it as before
    plan = build_plan(project, ["events", "stg", "mart"], state=PlanState())
    assert {s.model: s.depends_on for s in plan.steps} == {
        "events": (),
        "stg": ("events",),
        "mart": ("stg",),
    }
