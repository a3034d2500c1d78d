"""``teal run-operation MACRO --args '{...}'`` (dbt's): a dbt project's macro called on the
warehouse opened for writing, its statements committed when it returns and rolled back
when it raises, its ``log(..., info=True)`` lines printed, the call recorded as a run.
Every test runs the real command line on a dbt project written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import query, run_teal
from tests.test_dbt_front_end import dbt_project

MACROS = """
{% macro make_grants(role, days=1) %}
  {% do log('granting ' ~ role ~ ' for ' ~ days ~ ' days', info=True) %}
  {% do run_query('create schema if not exists ops') %}
  {% do run_query("create or replace table ops.grants as select '" ~ role ~ "' as role, "
                  ~ days ~ " as days") %}
  {% set n = run_query('select count(*) from ops.grants').columns[0].values()[0] %}
  {% do log('grants: ' ~ n, info=True) %}
{% endmacro %}

{% macro half_done() %}
  {% do log('starting', info=True) %}
  {% do run_query('create table main.half as select 1 as x') %}
  {{ exceptions.raise_compiler_error('the grants table is locked') }}
{% endmacro %}

{% macro drop_table(table_name, dry_run=false) %}
  {% do run_query('create schema if not exists ops') %}
  {% do run_query('create table ops.dropped as select ' ~ "'" ~ table_name ~ "' as t") %}
{% endmacro %}

{% macro chatty(who) %}
  {% do log('told ' ~ who, info=True) %}
  {% do log('for the debug log: ' ~ who) %}
  {% do log('also for the debug log', info=False) %}
  {{ print('printed for ' ~ who) }}
{% endmacro %}
"""
PACKAGE = {
    "dbt_packages/ops_pkg/dbt_project.yml": "name: ops_pkg\nversion: '1.0'\n",
    "dbt_packages/ops_pkg/macros/hello.sql": "{% macro hello(who) %}"
    "{% do log('hello ' ~ who, info=True) %}{% endmacro %}\n",
}


def _shop(tmp_path: Path) -> Path:
    return dbt_project(tmp_path / "shop", {"macros/ops.sql": MACROS, **PACKAGE})


@pytest.mark.slow
def test_a_macro_runs_against_the_warehouse_prints_its_logs_and_is_recorded(tmp_path: Path) -> None:
    root = _shop(tmp_path)
    done = run_teal("run-operation", "make_grants", "--args", "{role: reporter, days: 7}", cwd=root)
    assert done.returncode == 0, done.output
    assert done.stdout.splitlines() == ["granting reporter for 7 days", "grants: 1"]
    assert query(root / "shop.duckdb", "select role, days from ops.grants") == [("reporter", 7)]
    # a package's macro, named as dbt names it
    hello = run_teal("run-operation", "ops_pkg.hello", "--args", '{"who": "you"}', cwd=root)
    assert hello.returncode == 0, hello.output
    assert hello.stdout == "hello you\n"
    runs = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    assert [(r["command"], r["status"]) for r in runs][:2] == [
        ("run-operation", "success"),
        ("run-operation", "success"),
    ]
    logs = run_teal("logs", runs[1]["run_id"], cwd=root)
    assert "granting reporter for 7 days" in logs.stdout
    # the listings say which macro ran, and with what
    listed = run_teal("runs", cwd=root).stdout
    assert "macro ops_pkg.hello" in listed and "macro make_grants" in listed
    shown = run_teal("runs", "show", runs[1]["run_id"], cwd=root).stdout
    assert "  selection  macro make_grants\n" in shown
    assert '  args       {"days": 7, "role": "reporter"}\n' in shown
    # a macro's run has no steps to run again
    retried = run_teal("retry", "last", cwd=root)
    assert retried.returncode == 2
    assert "ran a macro (`teal run-operation`): it builds nothing to run again" in retried.stderr
    assert "run `teal run-operation ops_pkg.hello` again" in retried.stderr


@pytest.mark.slow
def test_a_macro_that_raises_exits_1_at_its_line_and_changes_nothing(tmp_path: Path) -> None:
    root = _shop(tmp_path)
    failed = run_teal("run-operation", "half_done", cwd=root)
    assert failed.returncode == 1, failed.output
    assert failed.stdout == "starting\n"  # what it logged before it raised
    assert failed.stderr.startswith(
        "macros/ops.sql:13:3: compilation error: the grants table is locked"
    )
    assert "hint: raised while `teal run-operation half_done` ran it" in failed.stderr
    tables = query(root / "shop.duckdb", "select table_name from information_schema.tables")
    assert ("half",) not in tables  # its statement before the error was rolled back
    runs = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    assert (runs[0]["command"], runs[0]["status"]) == ("run-operation", "failure")


@pytest.mark.slow
def test_mistakes_in_the_call_exit_2_before_the_warehouse_is_opened(
    tmp_path: Path, project
) -> None:  # type: ignore[no-untyped-def]
    root = _shop(tmp_path)
    unknown = run_teal("run-operation", "make_grant", cwd=root)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("MACRO: no macro named 'make_grant' in the project")
    assert "did you mean 'make_grants'?" in unknown.stderr
    wrong_arg = run_teal("run-operation", "make_grants", "--args", "{rol: x}", cwd=root)
    assert wrong_arg.returncode == 2
    assert wrong_arg.stderr.startswith(
        "macros/ops.sql:1:1: macro make_grants(role, days=1) takes no argument 'rol'\n"
        "    {% macro make_grants(role, days=1) %}\n"
    )
    assert "did you mean 'role'?" in wrong_arg.stderr
    # --args is read as --vars is (compiler/config.py's parse_vars): located, with a caret
    not_a_mapping = run_teal("run-operation", "make_grants", "--args", "[reporter]", cwd=root)
    assert not_a_mapping.returncode == 2
    assert not_a_mapping.stderr.startswith(
        "--args: must be a mapping of names to values, got list\n    [reporter]\n    ^\n"
    )
    assert "hint: write --args '{key: value}'" in not_a_mapping.stderr
    not_yaml = run_teal("run-operation", "make_grants", "--args", "{role: x,\n days: : }", cwd=root)
    assert not_yaml.returncode == 2
    assert not_yaml.stderr.startswith(
        "--args:2:8: not valid YAML/JSON: expected the node content, but found ':'\n"
        "     days: : }\n"
        "           ^\n"
    )
    assert not (root / "shop.duckdb").exists()  # none of them opened it
    teal_project = project({"models/a.sql": "select 1 as x\n"})
    no_macros = run_teal("run-operation", "make_grants", cwd=teal_project)
    assert no_macros.returncode == 2
    assert no_macros.stderr.startswith(
        "MACRO: `teal run-operation` calls a dbt macro, and a teal project has no macros"
    )
    assert "teal show --inline" in no_macros.stderr


@pytest.mark.slow
def test_a_macro_called_without_an_argument_it_needs_exits_2_before_any_sql(tmp_path: Path) -> None:
    root = _shop(tmp_path)
    missing = run_teal("run-operation", "drop_table", cwd=root)
    assert missing.returncode == 2, missing.output
    assert missing.stderr == (
        "macros/ops.sql:16:1: macro drop_table(table_name, dry_run=false) needs argument "
        "'table_name', which --args does not give\n"
        "    {% macro drop_table(table_name, dry_run=false) %}\n"
        "    ^\n"
        "  hint: --args '{table_name: ...}'\n"
    )
    given = run_teal("run-operation", "drop_table", "--args", "{dry_run: true}", cwd=root)
    assert given.returncode == 2
    assert "hint: --args '{table_name: ...}' with the arguments given" in given.stderr
    assert not (root / "shop.duckdb").exists()  # nothing ran: the warehouse was not opened
    done = run_teal("run-operation", "drop_table", "--args", "{table_name: old}", cwd=root)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select t from ops.dropped") == [("old",)]


@pytest.mark.slow
def test_debug_logs_are_recorded_and_print_is_printed_as_dbt_does(tmp_path: Path) -> None:
    root = _shop(tmp_path)
    done = run_teal("run-operation", "chatty", "--args", "{who: ann}", cwd=root)
    assert done.returncode == 0, done.output
    # dbt prints log(info=True) and print() lines; info=False lines go to its debug log
    assert done.stdout.splitlines() == ["told ann", "printed for ann"]
    assert "debug log" not in done.output
    run_id = json.loads(run_teal("runs", "--json", cwd=root).stdout)[0]["run_id"]
    events = [
        json.loads(line)
        for line in run_teal("logs", run_id, "--json", cwd=root).stdout.splitlines()
    ]
    assert [(e["level"], e["message"]) for e in events if e["kind"] == "log"] == [
        ("info", "told ann"),
        ("debug", "for the debug log: ann"),
        ("debug", "also for the debug log"),
        ("info", "printed for ann"),
    ]
    info = run_teal("logs", run_id, "--level", "info", cwd=root).stdout
    assert "told ann" in info and "printed for ann" in info and "debug log" not in info
