"""A run's job and tags: `teal build --tag`, recorded beside the job's tags, and the runs
listed by job and tag (`teal runs --job/--tag`, the UI's `/api/runs?job=&tag=`), filtered
in the store's SQL on SQLite and Postgres (runtime/runstore/run_tags.py)."""

from __future__ import annotations

import json
import urllib.error
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.compiler.errors import SelectionError
from teal.runtime.runstore import Retention, RunRecord, RunStatus, RunStore, Trigger, open_run_store
from teal.runtime.runstore import sqlstore as sqlstore_module
from teal.runtime.runstore.run_tags import check_tag, with_tags
from teal.runtime.runstore.schema import MIGRATIONS
from tests.conftest import run_teal
from tests.ui.test_ui_api import call, ui_server

T0 = datetime(2026, 12, 1, 9, 0, 0)

JOBS = """
name = "tagged"
threads = 2

[jobs.nightly]
select = "a"
tags = ["nightly", "team=data"]

[jobs.hourly]
select = "a"
"""


def _run(run_id: str, minutes: int, config: dict[str, object]) -> RunRecord:
    at = T0 + timedelta(minutes=minutes)
    return RunRecord(
        run_id=run_id,
        command="build",
        status=RunStatus.SUCCESS,
        trigger=Trigger.CLI,
        config=config,  # type: ignore[arg-type]
        project="shop",
        created_at=at,
        started_at=at,
        finished_at=at,
    )


def _ids(store: RunStore, **filters: object) -> list[str]:
    return [r.run_id for r in store.runs(limit=100, **filters)]  # type: ignore[arg-type]


def _three_runs(store: RunStore) -> None:
    store.add_run(_run("r1", 1, {"job": "nightly", "tags": ["nightly", "team=data"]}))
    store.add_run(_run("r2", 2, {"job": "nightly", "tags": ["nightly", "team=ml", "note=a b"]}))
    store.add_run(_run("r3", 3, {"tags": ["team=data"]}))


def test_runs_are_listed_by_job_and_by_every_tag_asked(store: RunStore) -> None:
    store.migrate(T0)
    _three_runs(store)
    store.add_run(_run("r4", 4, {"threads": 2}))  # neither job nor tags
    assert _ids(store, job="nightly") == ["r2", "r1"]
    assert _ids(store, job="hourly") == []
    assert _ids(store, tags=["team=data"]) == ["r3", "r1"]
    assert _ids(store, tags=["team"]) == ["r3", "r2", "r1"]  # a key alone: any value
    assert _ids(store, tags=["nightly"]) == ["r2", "r1"]  # a bare tag, as jobs write them
    assert _ids(store, tags=["nightly", "team=ml"]) == ["r2"]  # all must match
    assert _ids(store, tags=["note=a b"]) == ["r2"]
    assert _ids(store, job="nightly", tags=["team=data"]) == ["r1"]
    assert _ids(store, tags=["team=dat"]) == []  # a value is matched whole, no LIKE
    assert _ids(store, tags=["team=%"]) == []


def test_a_pruned_run_takes_its_tags_with_it(store: RunStore) -> None:
    store.migrate(T0)
    _three_runs(store)
    assert store.prune(Retention(days=365, runs=1, project="shop"), T0 + timedelta(days=1)) == 2
    assert _ids(store, tags=["team"]) == ["r3"]
    rows = store._query("SELECT DISTINCT run_id FROM run_tags", ())
    assert rows == [("r3",)]


def test_migration_7_finds_the_job_and_tags_of_the_runs_recorded_before_it(
    tmp_path: Path, store_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = open_run_store(store_spec, tmp_path)
    with monkeypatch.context() as m:
        m.setattr(sqlstore_module, "MIGRATIONS", MIGRATIONS[:6])
        m.setattr(sqlstore_module, "LATEST", 6)
        old.migrate(T0)
        with old._transaction() as cur:  # as the teal of version 6 wrote them
            for run_id, config in (
                ("old1", {"job": "nightly", "tags": ["nightly", "team=data"]}),
                ("old2", {"threads": 2}),
                ("old3", {"vars": {"tags": "not a list"}}),
            ):
                cur.execute(
                    old._sql(
                        "INSERT INTO runs (run_id, command, status, run_trigger, run_config, "
                        "project, created_at) VALUES (?, 'build', 'success', 'cli', ?, 'shop', ?)"
                    ),
                    (run_id, json.dumps(config), T0.isoformat()),
                )
    assert old.migrate(T0) == [f"7: {MIGRATIONS[6].description}"]
    assert _ids(old, job="nightly") == ["old1"]
    assert _ids(old, tags=["team=data"]) == ["old1"]
    assert _ids(old, tags=["tags"]) == []
    old.close()


def test_a_tag_is_key_equals_value_or_a_bare_name() -> None:
    assert with_tags(["nightly", "team=data"], ["team=ml"]) == ("nightly", "team=ml")
    for bad, said in (
        ("=x", "has no key before '='"),
        ("", "is empty"),
        ("my team=x", "has a space in its key 'my team'"),
        ("team=", "gives no value after '='"),
        ("note=a\nb", "line break"),
        ("k=" + "v" * 501, "too long"),
    ):
        with pytest.raises(SelectionError, match=said) as raised:
            check_tag(bad)
        assert raised.value.path == "--tag"
        assert raised.value.hint


@pytest.mark.slow
def test_build_tags_are_recorded_with_the_job_tags_and_listed_by_teal_runs(project) -> None:
    root = project({"models/a.sql": "select 1 as id"}, config=JOBS)
    tagged = run_teal("build", "--job", "nightly", "--tag", "team=ml", "--tag", "adhoc", cwd=root)
    assert tagged.returncode == 0, tagged.output
    plain = run_teal("build", "--tag", "note=after the outage", cwd=root)
    assert plain.returncode == 0, plain.output

    shown = run_teal("runs", "show", "last", cwd=root)
    assert "  tags       note=after the outage\n" in shown.stdout
    listed = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    # the given tag replaces the job's tag of its key (team=data), the others are kept
    assert [(r["job"], r["tags"]) for r in listed] == [
        (None, ["note=after the outage"]),
        ("nightly", ["nightly", "team=ml", "adhoc"]),
    ]
    job_run = listed[1]["run_id"]
    shown = run_teal("runs", "show", job_run, "--json", cwd=root)
    assert json.loads(shown.stdout)["run"]["tags"] == ["nightly", "team=ml", "adhoc"]

    def runs(*args: str) -> list[str]:
        done = run_teal("runs", "--json", *args, cwd=root)
        assert done.returncode == 0, done.output
        return [r["run_id"] for r in json.loads(done.stdout)]

    assert runs("--job", "nightly") == [job_run]
    assert runs("--job", "hourly") == []  # a job with no run yet: none, no error
    assert runs("--tag", "team") == [job_run]
    assert runs("--tag", "team=data") == []
    assert runs("--tag", "adhoc", "--tag", "nightly") == [job_run]
    assert runs("--tag", "note") == [listed[0]["run_id"]]
    table = run_teal("runs", "--tag", "team=ml", cwd=root).stdout
    assert job_run in table and "1 run" in table

    typo = run_teal("runs", "--job", "nigthly", cwd=root)
    assert typo.returncode == 2
    assert "--job: no run of job 'nigthly', and the project has no such job" in typo.stderr
    assert "did you mean 'nightly'?" in typo.stderr
    assert "Traceback" not in typo.stderr
    for command in (("build",), ("runs",)):
        bad = run_teal(*command, "--tag", "team=", cwd=root)
        assert bad.returncode == 2, bad.output
        assert "--tag: 'team=' gives no value after '='" in bad.stderr
        assert "hint: write team=VALUE, or team alone" in bad.stderr
    assert len(json.loads(run_teal("runs", "--json", cwd=root).stdout)) == 2  # no run recorded


@pytest.mark.slow
def test_the_ui_lists_runs_by_job_and_tag(project) -> None:
    root = project({"models/a.sql": "select 1 as id"}, config=JOBS)
    assert run_teal("build", "--job", "nightly", cwd=root).returncode == 0
    assert run_teal("build", "--tag", "team=ml", cwd=root).returncode == 0
    with ui_server(root) as (url, _app):
        by_job = call(url, "runs?job=nightly")
        assert [r["config"]["job"] for r in by_job] == ["nightly"]
        assert [r["config"]["tags"] for r in call(url, "runs?tag=team=ml")] == [["team=ml"]]
        assert len(call(url, "runs?tag=team")) == 2
        assert call(url, "runs?tag=team&tag=nightly") == by_job
        for path, said in (
            ("runs?job=nigthly", "did you mean 'nightly'?"),
            ("runs?tag=team=", "gives no value after '='"),
        ):
            with pytest.raises(urllib.error.HTTPError) as raised:
                call(url, path)
            assert raised.value.code == 400
            assert said in raised.value.read().decode()
