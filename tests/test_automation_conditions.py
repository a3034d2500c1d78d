"""Declaring automation conditions (compiler/automation_conditions.py): the text, the table
and the Python forms read alike; a mistake is a located error, exit 2, wherever it is
written; the setting is config that changes no model's version."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import teal
from teal.compiler.automation_conditions import (
    AutomationCondition,
    ConditionError,
    condition_problem,
    parse_condition,
)
from tests.conftest import run_teal

CRONS = ["0 6 * * *", "*/15 * * * *", "30 2 1 * *", "0 0 * * 1-5", "5 4 L * *"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


@given(st.sampled_from(CRONS), st.sampled_from(ZONES))
def test_a_condition_written_as_text_reads_back_as_itself(cron, zone):
    condition = AutomationCondition.on_cron(cron, cron_timezone=zone)
    assert parse_condition(str(condition)) == condition
    assert parse_condition({"on_cron": cron, "timezone": zone}) == condition
    assert parse_condition(f"on_cron({cron!r}, {zone!r})") == condition


@given(st.text(max_size=40))
def test_any_text_is_a_condition_or_a_problem_never_a_crash(text):
    try:
        found = parse_condition(text)
    except ConditionError as exc:
        assert str(exc)  # says what is wrong
    else:
        assert found.kind in ("eager", "on_missing", "on_cron")
        assert parse_condition(str(found)) == found


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_a_name_that_is_no_condition_is_refused_by_name(name):
    if name in ("eager", "on_missing"):
        return
    problem = condition_problem(name) or ""
    assert repr(name) in problem or "on_cron needs a cron" in problem


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("eagr", "'eagr' is not an automation condition (did you mean 'eager'?)"),
        ("on_cron('0 25 * * *')", "'0 25 * * *' is not a cron expression"),
        ("on_cron('0 3 31 2 *')", "never fires"),
        ("on_cron('0 6 * * *', 'Mars/Base')", "'Mars/Base' is not a time zone"),
        ("on_cron('0 6 * * *', zone='UTC')", "on_cron has no argument 'zone'"),
        ("eager(1)", "eager takes no arguments"),
        ({"on_cron": "0 6 * * *", "tz": "UTC"}, "unknown key 'tz'"),
        (3, "got 3"),
    ],
)
def test_what_is_wrong_with_a_condition_is_said(value, said):
    assert said in (condition_problem(value) or "")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ({"on_cron": "0 6 * * *", "timzone": "UTC"}, "(did you mean 'timezone'?)"),
        ({"on_cron": "0 6 * * *", "cron_timzone": "UTC"}, "(did you mean 'cron_timezone'?)"),
        ({"on_crn": "0 6 * * *"}, "unknown key 'on_crn' (did you mean 'on_cron'?)"),
        ("on_cron('0 6 * * *', timzone='UTC')", "(did you mean 'timezone'?)"),
    ],
)
def test_a_misspelled_key_of_a_condition_is_named_with_the_close_one(value, said):
    assert said in (condition_problem(value) or "")


@pytest.mark.parametrize("key", ["timzone", "cron_timezone", "cron_timzone"])
def test_a_misspelled_schedule_time_zone_key_is_named_with_the_close_one(tmp_path, key):
    from teal.compiler.automation import parse_automation
    from teal.compiler.errors import ProjectError

    (tmp_path / "teal.toml").write_text(
        f'name = "p"\n[schedules.nightly]\ncron = "0 3 * * *"\n{key} = "UTC"\n'
    )
    spec = {"schedules": {"nightly": {"cron": "0 3 * * *", key: "UTC"}}}
    with pytest.raises(ProjectError, match=f"unknown key '{key}'") as caught:
        parse_automation(spec, tmp_path / "teal.toml", key_line=lambda *_: None)
    assert (caught.value.line, caught.value.hint) == (4, "did you mean 'timezone'?")


@pytest.mark.slow
def test_a_bad_condition_is_a_located_error_wherever_it_is_written(project):
    root = project(
        {
            "models/raw.sql": "select 1 as n\n",
            "models/orders.sql": "{{ config(materialized='table',\n"
            "          automation_condition=\"on_cron('0 25 * * *')\") }}\n"
            "select n from raw\n",
        }
    )
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/orders.sql:2:11: automation_condition: on_cron: '0 25 * * *' is not a cron" in (
        done.stderr
    )
    assert "hint: automation_condition='eager'" in done.stderr

    (root / "models" / "orders.sql").write_text("select n from raw\n")
    (root / "models" / "props.yml").write_text(
        "models:\n  - name: orders\n    config:\n      automation_condition: eagr\n"
    )
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2
    assert "models/props.yml:4:7: automation_condition: 'eagr' is not an automation condition" in (
        done.stderr
    )

    (root / "models" / "props.yml").unlink()
    with (root / "teal.toml").open("a") as toml:
        toml.write(
            '[folders.marts]\nautomation_condition = {on_cron = "0 6 * * *", timezone = "Mars/Base"}\n'
        )
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:4:48: automation_condition: on_cron: 'Mars/Base' is not a time zone" in (
        done.stderr
    )


MARTS = {"models/raw.sql": "select 1 as n\n", "models/marts/report.sql": "select n from raw\n"}


def _first_error(root) -> str:
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2, done.output
    assert "Traceback" not in done.output
    return done.stderr


@pytest.mark.slow
def test_a_mistake_inside_a_condition_table_is_located_at_its_key_with_a_close_name(project):
    # a TOML sub-table of a folder's config, after a key of the folder's own table
    root = project(
        MARTS,
        config="""
        name = "fixture"

        [folders.marts]
        materialized = "table"

        [folders.marts.automation_condition]
        on_cron = "0 6 * * *"
        timzone = "Europe/Berlin"
        """,
    )
    err = _first_error(root)
    assert (
        "teal.toml:9:1: automation_condition: an automation condition table is "
        "{on_cron = '<cron>', timezone = '<zone>'}: unknown key 'timzone' "
        "(did you mean 'timezone'?)"
    ) in err, err
    assert '    timzone = "Europe/Berlin"' in err

    # an inline table: at the key inside it
    (root / "teal.toml").write_text(
        'name = "fixture"\n[folders.marts]\n'
        'automation_condition = {on_cron = "0 6 * * *", cron_timzone = "Europe/Berlin"}\n'
    )
    err = _first_error(root)
    assert "teal.toml:3:48: automation_condition: " in err, err
    assert "unknown key 'cron_timzone' (did you mean 'cron_timezone'?)" in err

    # pyproject.toml's [tool.teal...] tables
    (root / "teal.toml").unlink()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "fixture"\n\n[tool.teal]\nname = "fixture"\n\n'
        '[tool.teal.folders.marts]\nmaterialized = "table"\n\n'
        '[tool.teal.folders.marts.automation_condition]\non_cron = "0 6 * * *"\n'
        'timezone = "Mars/Base"\n'
    )
    err = _first_error(root)
    assert "pyproject.toml:12:1: automation_condition: on_cron: 'Mars/Base' is not a time" in err
    text = (root / "pyproject.toml").read_text()  # a key of the folder's own table, too
    (root / "pyproject.toml").write_text(text.replace('"table"\n', '"table"\nretries = -1\n'))
    assert "pyproject.toml:9:1: retries must be a whole number" in _first_error(root)

    # YAML, a block mapping, and SQL, a dict
    (root / "pyproject.toml").unlink()
    (root / "teal.toml").write_text('name = "fixture"\n')
    (root / "models/marts/props.yml").write_text(
        "models:\n  - name: report\n    config:\n      automation_condition:\n"
        "        on_cron: '0 6 * * *'\n        timzone: UTC\n"
    )
    err = _first_error(root)
    assert "models/marts/props.yml:6:9: automation_condition: " in err, err
    assert "unknown key 'timzone' (did you mean 'timezone'?)" in err
    (root / "models/marts/props.yml").unlink()
    (root / "models/marts/report.sql").write_text(
        "{{ config(materialized='table',\n"
        "          automation_condition={'on_cron': '0 6 * * *', 'timzone': 'UTC'}) }}\n"
        "select n from raw\n"
    )
    err = _first_error(root)
    assert "models/marts/report.sql:2:57: automation_condition: " in err, err
    assert "(did you mean 'timezone'?)" in err


@pytest.mark.slow
def test_a_misspelled_freshness_key_is_located_and_named_with_the_close_one(project):
    root = project(
        MARTS,
        config="""
        name = "fixture"

        [folders.marts]
        materialized = "table"

        [folders.marts.freshness]
        max_lag = "26h"
        cron = "0 9 * * *"
        timzone = "Europe/Berlin"
        """,
    )
    err = _first_error(root)
    assert "teal.toml:10:1: freshness: unknown key 'timzone' (did you mean 'timezone'?)" in err, err


PYTHON_ASSETS = """
import pyarrow as pa
import teal


@teal.asset(automation_condition=teal.AutomationCondition.on_cron("0 6 * * *", cron_timezone="Europe/Berlin"))
def daily():
    return pa.table({"n": [1]})


@teal.asset(automation_condition="on_missing")
def once():
    return pa.table({"n": [1]})
"""
BAD_ASSET = """
import pyarrow as pa
import teal


@teal.asset(automation_condition=teal.AutomationCondition.on_cron("0 6 * *"))
def daily():
    return pa.table({"n": [1]})
"""


@pytest.mark.slow
def test_python_assets_declare_conditions_and_ls_shows_every_form(project):
    root = project(
        {
            "models/assets.py": PYTHON_ASSETS,
            "models/orders.sql": "{{ config(automation_condition='eager') }} select 1 as n\n",
            "models/marts/report.sql": "select n from orders\n",
        },
        config='name = "conditions"\n[folders.marts]\n'
        'automation_condition = {on_cron = "0 6 * * *", timezone = "Europe/Berlin"}\n',
    )
    done = run_teal("ls", "--json", cwd=root)
    assert done.returncode == 0, done.output
    said = {m["name"]: m["config"].get("automation_condition") for m in json.loads(done.stdout)}
    assert said == {
        "daily": "on_cron('0 6 * * *', cron_timezone='Europe/Berlin')",
        "once": "on_missing",
        "orders": "eager",
        "report": {"on_cron": "0 6 * * *", "timezone": "Europe/Berlin"},
    }
    listed = run_teal("automation", "--json", cwd=root)
    assert listed.returncode == 0, listed.output
    rows = {r["model"]: (r["condition"], r["fires"]) for r in json.loads(listed.stdout)}
    assert rows["report"] == ("on_cron('0 6 * * *', cron_timezone='Europe/Berlin')", False)
    assert rows["orders"] == ("eager", True)  # never built, nothing it reads is missing

    (root / "models" / "assets.py").write_text(BAD_ASSET)
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2
    assert "models/assets.py:6:" in done.stderr and "'0 6 * *' is not a cron" in done.stderr


def test_the_condition_is_not_part_of_a_models_version(project):
    root = project({"models/orders.sql": "select 1 as n\n"})
    with teal.Session.open(root) as session:
        before = session.project.models["orders"].sql_hash
    (root / "models" / "orders.sql").write_text(
        "{{ config(automation_condition='eager') }}\nselect 1 as n\n"
    )
    with teal.Session.open(root) as session:
        after = session.project.models["orders"].sql_hash
    assert before == after  # adding it makes nothing stale


def test_a_sensor_may_not_take_the_evaluators_name(project):
    root = project(
        {"models/orders.sql": "select 1 as n\n"},
        config='name = "x"\n[sensors.automation_conditions]\nfiles = "in/*.csv"\nselect = "orders"\n',
    )
    done = run_teal("sensors", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:2:" in done.stderr
    assert "'automation_conditions' is the daemon's evaluator" in done.stderr


@pytest.mark.slow
def test_a_bad_automation_interval_is_a_located_error(project):
    root = project(
        {"models/orders.sql": "select 1 as n\n"},
        config='name = "x"\n[daemon]\nautomation_interval = "soon"\n',
    )
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:3:" in done.stderr and "daemon.automation_interval" in done.stderr


def test_composing_conditions_says_they_do_not_compose():
    import pytest

    import teal

    eager, missing = teal.AutomationCondition.eager(), teal.AutomationCondition.on_missing()
    for compose in (lambda: eager & missing, lambda: eager | missing, lambda: ~eager):
        with pytest.raises(TypeError, match=r"automation conditions do not compose"):
            compose()


def test_an_on_cron_verdict_names_the_next_tick_it_waits_for(tmp_path):
    from datetime import datetime

    from teal.compiler.plan import PlanState
    from teal.compiler.project import load_project
    from teal.runtime.automation_conditions import Cursor, evaluate_conditions
    from tests.conftest import write_project

    report = "{{ config(materialized='table', automation_condition=\"on_cron('0 6 * * *')\") }}"
    root = write_project(tmp_path / "p", {"models/report.sql": report + " select 1 as n"})
    project, now = load_project(root), datetime(2026, 3, 2, 7, 0)
    [first] = evaluate_conditions(project, PlanState(), now).verdicts
    # first seen at 07:00: the 06:00 tick is past, and it does not fire for it
    assert (first.fires, first.reason) == (
        False,
        "first seen: fires from the next tick, at 2026-03-03 06:00 UTC",
    )
    cursor = Cursor(ticks={"report": first.tick or ""})
    [again] = evaluate_conditions(project, PlanState(), now, cursor=cursor).verdicts
    assert (again.fires, again.reason) == (
        False,
        "waits for the next tick, at 2026-03-03 06:00 UTC",
    )
    [due] = evaluate_conditions(
        project, PlanState(), datetime(2026, 3, 3, 6, 1), cursor=cursor
    ).verdicts
    assert due.fires and due.reason.startswith("tick at 2026-03-03 06:00 UTC passed")


def test_a_condition_on_an_ephemeral_model_is_a_located_warning(tmp_path):
    from teal.compiler.project import load_project
    from tests.conftest import write_project

    eph = "{{ config(materialized='ephemeral', automation_condition='eager') }} select 1 as x"
    root = write_project(
        tmp_path / "p", {"models/e.sql": eph, "models/r.sql": "select * from e"}, 'name = "p"\n'
    )
    [warning] = load_project(root).warnings
    assert warning.path == "models/e.sql" and warning.line == 1
    assert "materialized='ephemeral' (inlined into its readers, never built): it is ignored" in (
        warning.message
    )
