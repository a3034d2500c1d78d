"""dbt's ``--state DIR`` for tests: a test that is new or changed itself (its arguments,
its config, its SQL, its test macro) is selected by ``state:modified`` / ``state:new``
without the model it tests, and ``teal build`` runs it on the model as it is.

The expected selections were recorded with dbt-core 1.12.6 on a copy of
tests/dbt_projects/jaffle changed as :func:`_change_tests` changes it:
``dbt parse`` of the unchanged copy gave the state (tests/golden/dbt_state_jaffle.json:
its manifest trimmed to what --state compares), then ``dbt ls -s state:modified
--state ...`` (and ``state:new``, ``--exclude stg_payments``) on the changed copy;
``dbt build -s state:modified`` ran those 7 tests and no model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

HERE = Path(__file__).parent
JAFFLE = HERE / "dbt_projects" / "jaffle"
DBT_STATE = HERE / "golden" / "dbt_state_jaffle.json"

# dbt's names; teal lists a long name by its shortened one (its check's name)
LONG = (
    "accepted_values_stg_orders_status__placed__shipped__completed__return_pending__returned__lost"
)
SHORT = "accepted_values_stg_orders_d0aa90f4a0e3ae13d13e301a71c04730"
DBT_MODIFIED = [
    LONG,  # an argument added: another unique_id, a new test
    "assert_new",  # a new singular test
    "assert_order_totals_positive",  # its SQL changed
    "is_positive_stg_payments_amount",  # its test macro changed
    "not_null_stg_customers_customer_id",  # its severity changed
    "not_null_stg_payments_amount",  # a new generic test
    "unique_stg_payments_payment_id",  # a where config added
]
DBT_NEW = [LONG, "assert_new", "not_null_stg_payments_amount"]
DBT_MODIFIED_BUT_STG_PAYMENTS = [
    LONG,
    "assert_new",
    "assert_order_totals_positive",
    "not_null_stg_customers_customer_id",
]


def _teal_names(names: list[str]) -> list[str]:
    """dbt's names as `teal ls -o name` prints them: the same (a long test by its whole
    name, not its check's shortened one)."""
    return sorted(names)


def _sub(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _change_tests(root: Path) -> None:
    """Change tests only: no model, seed or snapshot is modified."""
    schema = root / "models/staging/schema.yml"
    _sub(
        schema,
        "        data_tests:\n          - unique\n          - not_null\n",
        "        data_tests:\n          - unique\n          - not_null:\n"
        "              config:\n                severity: warn\n",
    )
    _sub(schema, "'return_pending', 'returned']", "'return_pending', 'returned', 'lost']")
    _sub(
        schema,
        "      - name: payment_id\n        data_tests: [unique, not_null]\n",
        "      - name: payment_id\n        data_tests:\n          - unique:\n"
        '              config:\n                where: "payment_id > 0"\n          - not_null\n',
    )
    _sub(schema, "          - is_positive\n", "          - is_positive\n          - not_null\n")
    _sub(
        root / "tests/assert_order_totals_positive.sql",
        "where amount < 0",
        "where amount < 0 or amount is null",
    )
    (root / "tests/assert_new.sql").write_text(
        "select * from {{ ref('customers') }} where customer_id is null\n"
    )
    _sub(root / "tests/generic/is_positive.sql", "< 0", "< 0 and {{ column_name }} is not null")


def _jaffle(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "jaffle"
    shutil.copytree(
        JAFFLE, work, ignore=shutil.ignore_patterns("target", "*.duckdb", ".teal", "expected.json")
    )
    env = {"TEAL_RUN_STORE": "none", "JAFFLE_DB": str(tmp_path / "jaffle.duckdb")}
    return work, env


def _names(done: object) -> list[str]:
    return sorted(line for line in done.stdout.splitlines() if line.strip())  # type: ignore[attr-defined]


@pytest.mark.slow
def test_state_selects_new_and_changed_tests_as_dbt_does(tmp_path: Path) -> None:
    work, env = _jaffle(tmp_path)
    assert run_teal("parse", cwd=work, env=env).returncode == 0
    (work / "target").rename(tmp_path / "teal_state")  # teal's own manifest, before
    (tmp_path / "dbt_state").mkdir()  # dbt's, of the same project
    shutil.copy(DBT_STATE, tmp_path / "dbt_state" / "manifest.json")
    for state in ("teal_state", "dbt_state"):  # nothing changed yet
        flag = ("--state", str(tmp_path / state))
        done = run_teal(
            "ls", "-s", "state:modified", *flag, "--resource-type", "all", cwd=work, env=env
        )
        assert done.returncode == 0 and "\n0 resources" in done.stdout, (state, done.output)
    _change_tests(work)
    for state in ("teal_state", "dbt_state"):
        flag = ("--state", str(tmp_path / state))
        ls = ("ls", *flag, "--resource-type", "test", "-o", "name")
        done = run_teal(*ls, "-s", "state:modified", cwd=work, env=env)
        assert _names(done) == _teal_names(DBT_MODIFIED), (state, done.output)
        done = run_teal(*ls, "-s", "state:new", cwd=work, env=env)
        assert _names(done) == _teal_names(DBT_NEW), (state, done.output)
        done = run_teal(*ls, "-s", "state:modified", "--exclude", "stg_payments", cwd=work, env=env)
        assert _names(done) == _teal_names(DBT_MODIFIED_BUT_STG_PAYMENTS), (state, done.output)
        # no model is modified: the models' listing says the tests are selected alone
        done = run_teal("ls", "-s", "state:modified", *flag, cwd=work, env=env)
        assert "\n0 of " in done.stdout and "and 7 tests selected by state alone" in done.stdout


@pytest.mark.slow
def test_build_runs_a_changed_test_without_rebuilding_its_model(tmp_path: Path) -> None:
    work, env = _jaffle(tmp_path)
    db = tmp_path / "jaffle.duckdb"
    assert run_teal("build", cwd=work, env=env).returncode == 0
    shutil.copytree(work / "target", tmp_path / "prod")
    builds = query(db, "select count(*) from teal.builds")
    _change_tests(work)
    flag = ("--state", str(tmp_path / "prod"))
    done = run_teal("build", "-s", "state:modified", *flag, cwd=work, env=env)
    assert done.returncode == 0, done.output
    assert "Tests on models not rebuilt: 7 run, 7 passed" in done.stdout, done.output
    assert f"check {SHORT}  0 failing rows  (on stg_orders as it is)" in done.stdout
    assert query(db, "select count(*) from teal.builds") == builds  # no model rebuilt
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    assert sorted(r["unique_id"].split(".")[2] for r in results) == sorted(DBT_MODIFIED)
    assert {r["status"] for r in results} == {"pass"}
    checked = query(db, "select distinct check_name from teal.check_results")
    assert SHORT in {c for (c,) in checked}
    # `teal test` runs the same tests; a test whose severity is now warn fails as a warning
    done = run_teal("test", "-s", "state:modified", *flag, cwd=work, env=env)
    assert done.returncode == 0 and "Checks: 7 run, 7 passed" in done.stdout, done.output


@pytest.mark.slow
def test_a_long_test_is_selected_by_dbts_whole_name_too(tmp_path: Path) -> None:
    work, env = _jaffle(tmp_path)
    whole = (
        "accepted_values_stg_orders_status__placed__shipped__completed__return_pending__returned"
    )
    for select in (
        whole,
        f"test_name:{whole}",
        "accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58",
    ):
        done = run_teal(
            "ls", "-s", select, "--resource-type", "test", "-o", "name", cwd=work, env=env
        )
        assert done.returncode == 0, done.output
        listed = done.stdout.split()
        assert whole in listed  # listed by its whole name, as dbt ls does
        assert "accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58" not in listed
