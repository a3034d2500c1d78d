"""Mistakes found by an audit of "bad input gets a clear error", as a user makes them, one
surface at a time: each was taken silently (a run store URL read as a file path, a check
folder or a model folder that is not there, an I/O manager no asset used yet) or reported
without a place or a hint. Each now ends with ``path:line:col: message`` and a hint (exit
2) or a located warning, no traceback, and what was there before is untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

CONFIG = 'name = "p"\nthreads = 1\n'
BASE = {
    "models/staging/orders.sql": "select i as id, (i * 1.5)::decimal(10, 2) as amount "
    "from range(10) t(i)",
    "models/marts/revenue.sql": "select sum(amount) as revenue from orders",
}


def _run(project, files, config, args, env=None):  # type: ignore[no-untyped-def]
    root = project({**BASE, **files}, config=CONFIG + config)
    done = run_teal(*args, cwd=root, env=env)
    assert "Traceback" not in done.output, done.output
    return root, done


def _says(done, exit_code: int, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert done.returncode == exit_code, done.output
    for text in texts:
        assert text in done.stderr, done.stderr


# -- the project file ---------------------------------------------------------------------

TOML = [
    pytest.param(
        'run_store = "mysql://runs.example.com/teal"\n',
        ("build",),
        [
            "teal.toml:3:1: run store 'mysql://runs.example.com/teal': teal records runs in "
            "SQLite or Postgres, not in 'mysql://'",
            'hint: a path such as ".teal/runs.sqlite", "postgresql://user@host/db" or "none"',
        ],
        id="run_store-unknown-url",
    ),
    pytest.param(
        'io_manager = "parket"\n',
        ("build",),
        [
            "teal.toml:3:1: io_manager 'parket' is neither a built-in I/O manager nor a "
            "declared resource",
            "hint: did you mean 'parquet'?",
        ],
        id="io_manager-unknown-without-python-assets",
    ),
    pytest.param(
        '\n[external]\nroot = "lake"\nformat = "parket"\n',
        ("build",),
        [
            "teal.toml:6:1: format='parket' is not a file format teal writes",
            "hint: did you mean 'parquet'?",
        ],
        id="external-format",
    ),
    pytest.param(
        '\n[schedules.hourly]\nselect = "orders+"\ncron = "0 * * * *"\npartition = "closd"\n',
        ("schedules",),
        [
            'teal.toml:7:1: schedules.hourly.partition must be "closed"',
            'hint: partition = "closed", or leave it out',
        ],
        id="schedule-partition",
    ),
    pytest.param(
        '\n[sensors.landing]\nfiles = "landing/*.csv"\nminimum_interval = "often"\n',
        ("sensors",),
        [
            'teal.toml:6:1: sensors.landing.minimum_interval must be a duration such as "30s"',
            'hint: minimum_interval = "30s"',
        ],
        id="sensor-minimum_interval",
    ),
]


@pytest.mark.parametrize(("config", "args", "says"), TOML)
def test_a_project_file_mistake_is_located_with_a_hint(project, config, args, says):
    root, done = _run(project, {}, config, args)
    _says(done, 2, says)
    assert not (root / "warehouse.duckdb").exists()
    assert not (root / "mysql:").exists()  # the URL was once a SQLite file's path


def test_an_unknown_run_store_url_in_the_environment_is_an_error(project):
    root, done = _run(project, {}, "", ("build",), env={"TEAL_RUN_STORE": "mysql://db/teal"})
    _says(done, 2, ["TEAL_RUN_STORE: run store 'mysql://db/teal': teal records runs in"])
    assert not (root / "mysql:").exists()


def test_a_check_folder_that_is_not_there_is_a_located_warning(project):
    config = 'check_paths = ["chekcs"]\n'
    files = {"checks/no_negative.sql": "select * from orders where amount < 0"}
    root, done = _run(project, files, config, ("build",))
    _says(
        done,
        0,
        [
            "warning: teal.toml:3:1: check_paths names 'chekcs', which is not a folder of the "
            "project: no checks are read from it",
            "hint: did you mean 'checks'?",
        ],
    )
    strict = run_teal("--strict", "build", cwd=root)
    assert strict.returncode == 2, strict.output
    # the default folder may be missing: no warning
    (root / "teal.toml").write_text(CONFIG)
    (root / "checks" / "no_negative.sql").unlink()
    (root / "checks").rmdir()
    assert "check_paths" not in run_teal("build", cwd=root).stderr


# -- models ---------------------------------------------------------------------------------

MODELS = [
    pytest.param(
        {"models/marts/retried.sql": "{{ config(retries='three') }}\nselect 1 as x"},
        [
            "models/marts/retried.sql:1:11: config key 'retries' must be a whole number of "
            "retries, such as 2, got 'three'",
            "hint: docs/models.md#config lists each key and the value it takes",
        ],
        id="config-value-of-the-wrong-type",
    ),
    pytest.param(
        {
            "models/staging/orders.sql": "{{ config(enabled=false) }}\n"
            + BASE["models/staging/orders.sql"],
            "models/marts/revenue.sql": "select 1 as revenue",
            "models/marts/top.py": "import teal\n\n\n@teal.asset\ndef top(orders):\n"
            "    return orders\n",
        },
        [
            "models/marts/top.py:5:9: parameter 'orders' of asset 'top' is not a model",
            "hint: model 'orders' is disabled (enabled=false); enable it or stop reading it",
        ],
        id="python-parameter-of-a-disabled-model",
    ),
    pytest.param(
        {
            "models/marts/top.py": "import teal\n\n\n@teal.asset('top')\ndef top(orders):\n"
            "    return orders\n"
        },
        [
            "models/marts/top.py:4:1: @teal.asset() takes keyword arguments only, got 'top' in "
            "place of the function",
            "hint: name the argument, such as @teal.asset(name='top')",
        ],
        id="asset-name-given-positionally",
    ),
    pytest.param(
        {
            "models/marts/top.py": "import teal\n\n\n@teal.asset_check('orders')\n"
            "def positive(orders):\n    return True\n"
        },
        [
            "models/marts/top.py:4:1: importing the model file raised TypeError: asset_check() "
            "missing 1 required keyword-only argument: 'asset'",
            "hint: name the model it checks: @teal.asset_check(asset='orders')",
        ],
        id="check-asset-given-positionally",
    ),
]


@pytest.mark.parametrize(("files", "says"), MODELS)
def test_a_model_mistake_is_located_with_a_hint(project, files, says):
    root, done = _run(project, files, "", ("build",))
    _says(done, 2, says)
    assert not (root / "warehouse.duckdb").exists()


# -- checks ---------------------------------------------------------------------------------

CHECKS = [
    pytest.param(
        {
            "models/marts/checks.py": "import teal\n\n\n@teal.asset_check(asset='nosuch')\n"
            "def positive():\n    return teal.CheckResult(passed=True)\n"
        },
        [
            "models/marts/checks.py:4:1: check 'positive' is of asset 'nosuch', which is not "
            "a model",
            "hint: a check is of a model of the project: `teal ls` lists them",
        ],
        id="python-check-of-no-model",
    ),
    pytest.param(
        {"checks/negative.sql": "select *\nfrom ordrs where amount < 0\n"},
        [
            "checks/negative.sql:2:6: 'ordrs' is not a model\n    from ordrs where amount < 0\n"
            "         ^\n  hint: did you mean 'orders'?",
        ],
        id="singular-check-of-a-misspelt-model-shows-its-line",
    ),
    pytest.param(
        {
            "models/staging/schema.yml": "models:\n  - name: orders\n    tests:\n"
            "      - not_null:\n          column_name: id\n"
        },
        [
            "models/staging/schema.yml:4:7: unknown key 'column_name' in check not_null",
            "hint: write the check under its column: columns: [{name: id, tests: [not_null]}]",
        ],
        id="dbt-column_name-on-a-model-level-check",
    ),
]


@pytest.mark.parametrize(("files", "says"), CHECKS)
def test_a_check_mistake_is_located_with_a_hint(project, files, says):
    root, done = _run(project, files, "", ("build",))
    _says(done, 2, says)
    assert not (root / "warehouse.duckdb").exists()


# -- the command line and the warehouse -------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_warehouse_that_is_not_a_duckdb_file_says_so_and_is_left_as_it_is(project, kind):
    root = project(BASE, config=CONFIG)
    if kind == "file":
        (root / "warehouse.duckdb").write_bytes(b"a spreadsheet, not a database\n")
    else:
        (root / "warehouse.duckdb").mkdir()
    done = run_teal("build", cwd=root)
    assert "Traceback" not in done.output, done.output
    what = (
        "this file is not a DuckDB database"
        if kind == "file"
        else "this is a folder, not a DuckDB database file"
    )
    _says(
        done,
        2,
        [
            f"warehouse.duckdb: cannot open the warehouse: {what}",
            "hint: point `warehouse` in the project file (or --warehouse) at the DuckDB file",
        ],
    )
    if kind == "file":
        assert (root / "warehouse.duckdb").read_bytes() == b"a spreadsheet, not a database\n"


# -- dbt projects -----------------------------------------------------------------------------


def _dbt_project(root: Path, model_paths: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "totals.sql").write_text("select 1 as total\n")
    (root / "dbt_project.yml").write_text(
        f"name: shop\nversion: '1.0.0'\nprofile: shop\nmodel-paths: {model_paths}\n"
        "analysis-paths: ['analyses']\n"
    )
    (root / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n"
    )
    return root


def test_a_dbt_model_path_that_is_not_there_is_a_located_warning(tmp_path):
    root = _dbt_project(tmp_path / "shop", "['modls']")
    done = run_teal("build", cwd=root)
    assert "Traceback" not in done.output, done.output
    _says(
        done,
        0,
        [
            "warning: dbt_project.yml:4:1: model-paths names 'modls', which is not a folder of "
            "the project: nothing is read from it",
            "hint: did you mean 'models'?",
        ],
    )
    # dbt's default folders, which dbt init lists and git does not keep empty, may be missing
    assert "analysis-paths" not in done.stderr
    fine = run_teal("build", cwd=_dbt_project(tmp_path / "fine", "['models']"))
    assert fine.returncode == 0, fine.output
    assert "warning" not in fine.stderr, fine.stderr
