"""Mistakes teal used to take silently (a YAML key written twice, a decorator written twice,
a file it skipped) or reported without a place or a hint: each now ends with
``path:line:col: message`` and a hint (exit 2), or a located warning (an error under
``--strict``), and nothing already built is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

CONFIG = 'name = "p"\n\n[defaults]\nmaterialized = "table"\n'
BASE = {
    "models/staging/orders.sql": "select i as id, i % 7 as customer_id, "
    "(i*1.5)::decimal(10,2) as amount from range(100) t(i)",
    "models/staging/customers.sql": "select i as customer_id, 'c' || i as name from range(7) t(i)",
    "models/marts/revenue.sql": "select c.name, sum(o.amount) as revenue from orders o "
    "join customers c on c.customer_id = o.customer_id group by 1",
}


@pytest.fixture
def shop(project):
    """``shop(files)``: the base project (orders, customers, revenue) plus ``files``."""

    def make(files: dict[str, str] | None = None, config: str = CONFIG) -> Path:
        return project({**BASE, **(files or {})}, config=config)

    return make


def _clean(done) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in done.output, done.output


# -- a YAML key written twice ------------------------------------------------------------------

TWICE = """
version: 2
models:
  - name: revenue
    columns:
      - name: revenue
        tests: [not_null]
    description: revenue per customer
    columns:
      - name: name
"""


def test_a_yaml_key_written_twice_is_a_warning_naming_both_lines(shop):
    root = shop({"models/marts/schema.yml": TWICE})
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert (
        "warning: models/marts/schema.yml:8:5: key 'columns' is written twice in one "
        "mapping, on lines 4 and 8: the one on line 4 is ignored" in done.stderr
    )
    assert "hint: merge the two 'columns:' entries into one, or remove one of them" in done.stderr
    strict = run_teal("--strict", "build", cwd=root)
    assert strict.returncode == 2
    _clean(strict)
    assert "models/marts/schema.yml:8:5: key 'columns' is written twice" in strict.stderr
    # a sources file's `tables:` twice, read from the compile cache the second time
    sources = "sources:\n  - name: raw\n    tables: [a]\n    tables: [b]\n"
    (root / "models" / "sources.yml").write_text(sources)
    for _ in range(2):
        done = run_teal("compile", cwd=root)
        assert done.returncode == 0, done.output
        assert (
            "warning: models/sources.yml:4:5: key 'tables' is written twice in one mapping, "
            "on lines 3 and 4" in done.stderr
        )


DBT_PROJECT = "name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: table\n"
DBT_PROFILES = (
    "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
    "      path: shop.duckdb\n      schema: main\n"
)


def _dbt_project(root: Path, files: dict[str, str]) -> Path:
    files = {"dbt_project.yml": DBT_PROJECT, "profiles.yml": DBT_PROFILES, **files}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_yaml_key_written_twice_in_a_dbt_project_is_a_warning(tmp_path):
    schema = "version: 2\nmodels:\n  - name: a\n    description: x\n    description: y\n"
    root = _dbt_project(
        tmp_path / "dbt",
        {
            "dbt_project.yml": DBT_PROJECT + "name: shop\n",
            "models/a.sql": "select 1 as id",
            "models/schema.yml": schema,
        },
    )
    env = {"TEAL_RUN_STORE": "none"}
    done = run_teal("build", cwd=root, env=env)
    assert done.returncode == 0, done.output  # dbt keeps the last: the project still runs
    assert (
        "warning: dbt_project.yml:6:1: key 'name' is written twice in one mapping, on lines "
        "1 and 6" in done.stderr
    )
    assert (
        "warning: models/schema.yml:5:5: key 'description' is written twice in one mapping, "
        "on lines 4 and 5" in done.stderr
    )
    strict = run_teal("--strict", "compile", cwd=root, env=env)
    assert strict.returncode == 2 and "2 problems found" in strict.stderr
    _clean(strict)


# -- a teal decorator written twice --------------------------------------------------------

PY_REV = """
import pyarrow as pa
import teal


@teal.asset()
def py_rev():
    return pa.table({"x": [1]})
"""


def test_a_decorator_written_twice_is_an_error_at_the_second(shop):
    root = shop({"models/marts/py_rev.py": PY_REV})
    assert run_teal("build", cwd=root).returncode == 0
    path = root / "models" / "marts" / "py_rev.py"
    path.write_text(PY_REV.replace("@teal.asset()\n", "@teal.asset()\n@teal.asset()\n"))
    for command in ("ls", "build"):
        done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        _clean(done)
        assert (
            "models/marts/py_rev.py:7:1: @teal.asset is written twice on function 'py_rev', "
            "on lines 6 and 7: a function declares one asset" in done.stderr
        )
        assert "hint: remove one of them (two assets are two functions)" in done.stderr
    assert query(root / "warehouse.duckdb", "select x from marts.py_rev") == [(1,)]  # kept
    path.write_text(
        PY_REV.replace("@teal.asset()\n", '@teal.asset()\n@teal.asset_check(asset="revenue")\n')
    )
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2
    assert (
        "models/marts/py_rev.py:7:1: function 'py_rev' has both @teal.asset and "
        "@teal.asset_check, on lines 6 and 7" in done.stderr
    )


SOURCE_TESTS = """
sources:
  - name: raw
    tables:
      - name: events
        tests:
          - row_count: {min: 1}
        columns:
          - name: id
            tests: [not_null]
"""


def test_tests_on_a_source_table_are_a_warning_since_they_never_run(shop):
    root = shop({"models/sources.yml": SOURCE_TESTS})
    for _ in range(2):  # the second time from the compile cache
        done = run_teal("compile", cwd=root)
        assert done.returncode == 0, done.output
        assert (
            "warning: models/sources.yml:5:9: tests of source table 'raw.events' do not run: "
            "a teal project runs checks on models" in done.stderr
        )
        assert (
            "warning: models/sources.yml:9:13: tests of column 'id' of source table "
            "'raw.events' do not run" in done.stderr
        )
        assert "hint: put them on the model that reads the source" in done.stderr
    strict = run_teal("--strict", "compile", cwd=root)
    assert strict.returncode == 2
    _clean(strict)


# -- YAML shapes: each mistake located, with the way to write it ------------------------------


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        (
            "models:\n  - name: revenue\n    columns:\n      name:\n        tests: [not_null]\n",
            [
                "models/marts/schema.yml:3:5: columns of model 'revenue' must be a list of "
                "columns, got a mapping",
                "hint: write each column as an entry of its own: '- name: name'",
            ],
        ),
        (
            "models:\n  - name: revenue\n    columns:\n      - name\n",
            [
                "models/marts/schema.yml:4:7: every column of model 'revenue' needs a name",
                "hint: write '- name: name': an entry is a mapping that starts with its name",
            ],
        ),
        (
            "models: revenue\n",
            [
                "models/marts/schema.yml:1:1: models: must be a list of model entries, got the "
                "text 'revenue'",
                "hint: write each model on a line of its own under 'models:', as "
                "'  - name: revenue'",
            ],
        ),
        (
            "models:\n  - revenue\n",
            [
                "models/marts/schema.yml:2:3: every entry under models: needs a name",
                "hint: write '- name: revenue'",
            ],
        ),
        (  # a text was read letter by letter as check names ('r', 'o', ...)
            "models:\n  - name: revenue\n    tests: row_count\n",
            [
                "models/marts/schema.yml:3:5: tests of model 'revenue' must be a list of "
                "checks, got the text 'row_count'",
                "hint: write a list: 'tests: [row_count]'",
            ],
        ),
        (  # a mapping stopped the load with a traceback
            "models:\n  - name: revenue\n    columns:\n      - name: name\n"
            "        data_tests: {not_null: {}}\n",
            [
                "models/marts/schema.yml:5:9: data_tests of column 'name' of model 'revenue' "
                "must be a list of checks, got a mapping",
                "hint: write a list: 'data_tests: [not_null]'",
            ],
        ),
        (
            "sources: raw\n",
            ["models/marts/schema.yml:1:1: sources: must be a list of source entries"],
        ),
        (
            "models:\n  - name: revenue\n  - name: revenue\n",
            [
                "models/marts/schema.yml:3:3: model 'revenue' is described twice: in "
                "models/marts/schema.yml, on lines 2 and 3",
                "hint: keep one entry per model across YAML files",
            ],
        ),
    ],
)
def test_a_yaml_entry_of_the_wrong_shape_is_located_with_a_hint(shop, schema, says):
    root = shop({"models/marts/schema.yml": schema})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    for text in says:
        assert text in done.stderr, done.stderr


def test_a_model_described_in_two_files_names_both_places(shop):
    entry = "models:\n  - name: revenue\n"
    root = shop({"models/marts/a.yml": entry, "models/marts/b.yml": "version: 2\n" + entry})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2
    assert (
        "models/marts/b.yml:3:3: model 'revenue' is described twice: in models/marts/a.yml:2 "
        "and in models/marts/b.yml:3" in done.stderr
    )


def test_a_dbt_model_described_twice_in_one_file_is_an_error_naming_both_lines(tmp_path):
    schema = "version: 2\nmodels:\n  - name: a\n  - name: a\n    description: lost\n"
    root = _dbt_project(
        tmp_path / "dbt", {"models/a.sql": "select 1 as id", "models/schema.yml": schema}
    )
    done = run_teal("compile", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 2, done.output  # as dbt: "found two schema.yml entries"
    assert (
        "models/schema.yml:4:3: model 'a' is described twice: in models/schema.yml, on lines "
        "3 and 4" in done.stderr
    )


def test_a_python_check_that_returns_nothing_says_a_return_is_missing(shop):
    check = (
        "import teal\n\n\n@teal.asset_check(asset='revenue')\n"
        "def revenue_positive(revenue):\n    teal.CheckResult(passed=True)\n"
    )
    root = shop({"models/marts/revenue_checks.py": check})
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert (
        "check revenue_positive failed: it returned None (is a `return` missing?); return "
        "True or False, or a teal.CheckResult" in done.stdout
    )
    assert "it returned false" not in done.output


def test_a_failed_python_check_is_located_in_its_own_file_not_its_assets(shop):
    """A Python check in a file of its own, on a SQL model: the build's failure is said at
    the check's ``def`` line when it returned no verdict, at the line that raised when it
    raised (as the run store's step failure, which the UI shows), not at the model's
    SQL file, which has nothing to fix."""
    none = (
        "import teal\n\n\n@teal.asset_check(asset='revenue')\n"
        "def revenue_positive(revenue):\n    teal.CheckResult(passed=True)\n"
    )
    root = shop({"models/chk.py": none})
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    failures = done.stdout.split("\nFailures:\n")[1].splitlines()[0]
    assert failures.startswith(
        "  models/chk.py:5: published, then check revenue_positive failed: it returned None"
    ), done.stdout
    assert "revenue.sql" not in failures
    # raised in a function of the file the check calls: its line (6), not the def's (10)
    raises = (
        "import teal\n\n\ndef _share(n):\n    total = 0\n    return n / total\n\n\n"
        "@teal.asset_check(asset='revenue')\n"
        "def revenue_share(revenue):\n    return _share(revenue.num_rows) > 0\n"
    )
    (root / "models/chk.py").write_text(raises)
    done = run_teal("build", "-s", "revenue", cwd=root)
    assert done.returncode == 1, done.output
    assert (
        "  models/chk.py:6: published, then check revenue_share failed: "
        "ZeroDivisionError: division by zero"
    ) in done.stdout, done.stdout
    logged = run_teal("logs", "last", "--json", cwd=root).stdout.splitlines()
    [failed] = [e for e in map(json.loads, logged) if e["kind"] == "step_failure"]
    assert failed["data"]["where"] == "models/chk.py:6"  # where the UI says it failed
    [outcome] = json.loads(run_teal("build", "-s", "revenue", "--json", cwd=root).stdout)[
        "results"
    ][0]["checks"]
    assert (outcome["path"], outcome["line"]) == ("models/chk.py", 6)


def test_a_python_check_that_returns_no_verdict_is_an_error_of_the_check(shop):
    """A check returning its failing rows (dbt's habit) or a text has no verdict: its truth
    passed the check when rows failed (a non-empty list is true) and for any text, and
    failed it when none did. A NumPy bool, what pandas' ``.all()`` gives, is a verdict."""
    check = (
        "import teal\n\n\n@teal.asset_check(asset='revenue')\n"
        "def failing_rows(revenue):\n    return [(1, 'bad')]\n\n\n"
        "@teal.asset_check(asset='revenue')\n"
        "def says_failed(revenue):\n    return 'failed'\n\n\n"
        "@teal.asset_check(asset='revenue')\n"
        "def pandas_all(revenue):\n    return (revenue.to_pandas()['revenue'].notna()).all()\n"
    )
    root = shop({"models/marts/revenue_checks.py": check})
    done = run_teal("build", "--json", cwd=root)
    assert done.returncode == 1, done.output
    results = json.loads(done.stdout)["results"]
    outcomes = {c["check"]: c for r in results for c in r["checks"]}
    advice = "not a verdict; return True or False, or a teal.CheckResult"
    assert outcomes["failing_rows"]["status"] == "error"
    assert outcomes["failing_rows"]["message"] == f"it returned list, {advice}"
    assert outcomes["says_failed"]["status"] == "error"
    assert outcomes["says_failed"]["message"] == f"it returned str, {advice}"
    assert outcomes["pandas_all"]["status"] == "pass"


def test_a_selection_error_names_the_flag_or_argument_it_is_in(shop):
    root = shop()
    done = run_teal("build", "--exclude", "revnue", cwd=root)
    assert done.returncode == 2
    assert "--exclude: 'revnue' matches no model, folder or path" in done.stderr
    assert "hint: did you mean 'revenue'?" in done.stderr
    assert not (root / "warehouse.duckdb").exists()
    done = run_teal("backfill", "revnue", cwd=root)
    assert done.returncode == 2
    assert "backfill SELECTION: 'revnue' matches no model, folder or path" in done.stderr
    assert "--select" not in done.stderr
    done = run_teal("ls", "-s", "revnue", cwd=root)
    assert "--select: 'revnue' matches no model" in done.stderr


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (
            'name = "p"\n\n[defaults]\nmaterialized = "table"\n\n[defaults\ntags = ["x"]\n',
            [
                "teal.toml:6:10: invalid TOML: the table header '[defaults' has no closing ']'",
                "hint: write it [defaults]",
            ],
        ),
        (
            'name = "p"\n\n[defaults\nmaterialized = "table"\n',
            ["teal.toml:3:10: invalid TOML: the table header '[defaults' has no closing ']'"],
        ),
        (
            'name = "p"\n\n[defaults]\nmaterialized = "table"\n[defaults]\ntags = ["x"]\n',
            [
                "teal.toml:5:10: invalid TOML: the table [defaults] is declared twice (first "
                "on line 3)",
                "hint: merge the two into one [defaults] table",
            ],
        ),
    ],
)
def test_a_toml_mistake_is_said_as_a_person_would_see_it(shop, config, says):
    root = shop(config=config)
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    for text in says:
        assert text in done.stderr, done.stderr
    assert "Cannot declare" not in done.stderr


def test_a_duckdb_setting_refused_at_build_is_located_with_a_hint(shop):
    root = shop(config=CONFIG + '\n[duckdb]\nthreads = 2\nmemory_limit = "lots"\n')
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    assert (
        "teal.toml:8:1: a DuckDB setting in [duckdb] was refused: Parser Error: Memory must "
        "have a number" in done.stderr
    )
    assert 'memory_limit = "lots"' in done.stderr
    assert "hint: `select name, description from duckdb_settings()`" in done.stderr


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        (
            "select 1 as x;\nselect 2\n",
            "models/marts/two.sql:2:1: a SQL model must be a single statement",
        ),
        (
            "select 1 as x; select 2 as y\n",
            "models/marts/two.sql:1:16: a SQL model must be a single statement",
        ),
    ],
)
def test_a_second_statement_is_located_where_it_starts(shop, sql, says):
    root = shop({"models/marts/two.sql": sql})
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert says in done.stderr
    assert "hint: remove the extra statement (and the ';' before it)" in done.stderr
    assert not (root / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("sql", "says", "hint"),
    [
        (
            "select 1 as x,\n  {{ 1/0 }} as y\n",
            "models/marts/j.sql:2:3: Jinja error: division by zero",
            "hint: fix the expression in the {{ }} or {% %} tag on this line: it raised "
            "ZeroDivisionError",
        ),
        (
            "select {{ 'a'.nope() }} as y\n",
            "models/marts/j.sql:1:8: Jinja error: 'str object' has no attribute 'nope'",
            "hint: fix the expression in the {{ }} or {% %} tag on this line: an attribute or "
            "item it names does not exist",
        ),
    ],
)
def test_a_template_that_raises_is_located_at_its_tag_with_a_hint(shop, sql, says, hint):
    root = shop({"models/marts/j.sql": sql})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    assert says in done.stderr and hint in done.stderr, done.stderr


DAILY_PY = """
import pyarrow as pa
import teal


@teal.asset(partitioned_by={"daily": {"start": "2025-01-01", "end": "2025-01-05"}})
def daily(context):
    return pa.table({"day": [context.partition_key]})
"""


@pytest.mark.parametrize("imported", [False, True], ids=["read", "imported"])
def test_a_partitioned_python_asset_without_partition_column_says_it_is_missing(shop, imported):
    # read from the file's syntax tree, or imported (a call at module level)
    text = DAILY_PY + ("print('imported')\n" if imported else "")
    root = shop({"models/marts/daily.py": text})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    assert "models/marts/daily.py:5:1: a partitioned model needs partition_column" in done.stderr
    assert "hint: add partition_column='order_date' beside partitioned_by" in done.stderr
    assert "got None" not in done.stderr


# -- what used to be skipped or taken silently -------------------------------------------------


def test_a_file_that_looks_like_a_model_but_is_not_read_is_a_warning(shop):
    root = shop(
        {
            "models/marts/Upper.SQL": "select 1 as u",
            "models/marts/x.sqll": "select 1 as x",
            "models/marts/README.md": "# marts",
            "models/marts/notes.csv": "a,b",
            "models/marts/revenue.sql~": "an editor's backup",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert done.stderr.count("warning:") == 2, done.stderr
    assert (
        "warning: models/marts/Upper.SQL: this file is skipped: model files end in .sql or "
        ".py, YAML files in .yml or .yaml, in lower case (as dbt reads them)" in done.stderr
    )
    assert "hint: rename it Upper.sql" in done.stderr
    assert "warning: models/marts/x.sqll: this file is skipped" in done.stderr
    assert "hint: rename it x.sql" in done.stderr
    strict = run_teal("--strict", "compile", cwd=root)
    assert strict.returncode == 2 and "2 problems found" in strict.stderr
    # renamed, it is a model; the warning goes with the file (not kept by the stored load)
    (root / "models" / "marts" / "Upper.SQL").rename(root / "models" / "marts" / "upper.sql")
    (root / "models" / "marts" / "x.sqll").unlink()
    done = run_teal("build", cwd=root)
    assert done.returncode == 0 and "warning" not in done.stderr, done.output
    assert query(root / "warehouse.duckdb", "select u from marts.upper") == [(1,)]


def test_a_file_that_looks_like_a_dbt_model_but_is_not_read_is_a_warning(tmp_path):
    root = _dbt_project(
        tmp_path / "dbt", {"models/a.sql": "select 1 as id", "models/B.SQL": "select 2 as id"}
    )
    done = run_teal("compile", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    assert "warning: models/B.SQL: this file is skipped" in done.stderr


def test_config_called_twice_in_a_model_is_a_warning_at_the_second_call(shop):
    sql = (
        "{{ config(materialized='view') }}\n"
        "{# {{ config(tags=['commented out']) }} #}\n"
        "select 1 as x\n"
        "  {{ config(materialized='table') }}\n"
    )
    root = shop({"models/marts/c.sql": sql})
    for command in ("build", "ls"):  # the second time from the stored load
        done = run_teal(command, cwd=root)
        assert done.returncode == 0, done.output
        assert (
            "warning: models/marts/c.sql:4:6: config() is called twice in this model, on lines "
            "1 and 4: the calls are merged, and where both set a key the second one's value "
            "wins" in done.stderr
        )
        assert "hint: write one config(...) with every setting" in done.stderr
    assert run_teal("--strict", "compile", cwd=root).returncode == 2
    one = "{{ config(materialized='view') }}\n{# config(x=1) #}\nselect 1 as x -- config()\n"
    (root / "models" / "marts" / "c.sql").write_text(one)
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0 and "warning" not in done.stderr, done.output


@pytest.mark.parametrize(
    ("config", "args", "where"),
    [
        ('name = "p"\nthreads = 0\n', (), "teal.toml:2:1: threads must be at least 1, got 0"),
        (
            'name = "p"\nthreads = 2\n\n[targets.prod]\nwarehouse = "prod.duckdb"\nthreads = 0\n',
            ("--target", "prod"),
            "teal.toml:6:1: threads must be at least 1, got 0",
        ),
    ],
)
def test_threads_zero_is_a_located_error_not_every_core(shop, config, args, where):
    root = shop(config=config)
    done = run_teal("build", *args, cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    assert where in done.stderr
    assert "hint: leave threads out to use every core, or set threads = 4" in done.stderr
    assert not (root / "warehouse.duckdb").exists() and not (root / "prod.duckdb").exists()


def test_two_columns_of_one_name_is_an_error_before_anything_is_built(shop):
    root = shop()
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "marts" / "dup.sql").write_text("select 1 as x,\n  2 as x\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    assert (
        "models/marts/dup.sql:2:8: the query gives two columns the name 'x' (columns 1 and 2): "
        "a table has one column of a name (DuckDB would store the second as x_1)" in done.stderr
    )
    assert "hint: give one of them another name" in done.stderr
    assert "Building" not in done.stdout
    assert query(root / "warehouse.duckdb", "select count(*) from marts.revenue") == [(7,)]
    tables = "select table_name from information_schema.tables where table_name = 'dup'"
    assert query(root / "warehouse.duckdb", tables) == []
    # a column and a table's column of the same name, from the compile cache this time
    (root / "models" / "marts" / "dup.sql").write_text(
        "select c.customer_id, o.customer_id from orders o join customers c using (customer_id)"
    )
    for _ in range(2):
        done = run_teal("compile", cwd=root)
        assert done.returncode == 2
        assert "models/marts/dup.sql:1:25: the query gives two columns the name 'customer_id'" in (
            done.stderr
        )


def test_two_columns_of_one_name_in_a_dbt_model_is_a_warning(tmp_path):
    root = _dbt_project(tmp_path / "dbt", {"models/a.sql": "select 1 as id,\n  2 as id\n"})
    done = run_teal("build", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output  # dbt-duckdb builds it (id, id_1): so does teal
    assert (
        "warning: models/a.sql:2:8: the query gives two columns the name 'id' (columns 1 and "
        "2): dbt-duckdb stores the second as id_1" in done.stderr
    )


def test_full_refresh_with_only_missing_is_an_error(shop):
    root = shop()
    assert run_teal("build", cwd=root).returncode == 0
    for args in (
        ("build", "--full-refresh", "--only-missing"),
        ("plan", "--full-refresh", "--missing-only"),
    ):
        done = run_teal(*args, cwd=root)
        assert done.returncode == 2, done.output
        _clean(done)
        assert (
            "error: --full-refresh and --only-missing contradict each other: a full refresh "
            "rebuilds every partition, --only-missing builds only those not built yet"
            in done.stderr
        )
        assert "hint: give one of them" in done.stderr
    assert query(root / "warehouse.duckdb", "select count(*) from marts.revenue") == [(7,)]


def test_two_columns_of_one_name_from_a_star_is_an_error_before_anything_is_built(shop):
    root = shop()
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "marts" / "dup.sql").write_text(
        "-- every column of both\nselect o.*, c.*\nfrom orders o join customers c on o.customer_id = c.customer_id\n"
    )
    for _ in range(2):  # and again, from the binding's cache
        done = run_teal("build", cwd=root)
        assert done.returncode == 2, done.output
        _clean(done)
        assert (
            "models/marts/dup.sql:2:10: the query gives two columns the name 'customer_id'"
        ) in done.stderr
        assert "from a *): a table has one column of a name" in done.stderr
        assert "Building" not in done.stdout
    tables = "select table_name from information_schema.tables where table_name = 'dup'"
    assert query(root / "warehouse.duckdb", tables) == []
    (root / "models" / "marts" / "dup.sql").write_text(
        "select *\nfrom orders o join customers c using (customer_id)\n"
    )
    assert run_teal("build", "-s", "dup", cwd=root).returncode == 0  # using: one column


def test_two_columns_of_one_name_are_located_at_the_star_that_gives_them(shop):
    """The * of the query's own select list, not a CTE's ``select *`` above it (which
    gives no column of the model); a repeat no * gives (a struct's unnest, told once the
    struct's type is known) names no *."""
    root = shop({"models/staging/people.sql": "select {'customer_id': 1} as st"})
    assert run_teal("build", cwd=root).returncode == 0
    marts = root / "models" / "marts"
    (marts / "dup.sql").write_text(
        "with o as (select * from orders)\n"
        "select o.*, c.* from o join customers c on o.customer_id = c.customer_id\n"
    )
    (marts / "nested.sql").write_text("select unnest(st), 1 as customer_id\nfrom people\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    _clean(done)
    assert (
        "models/marts/dup.sql:2:10: the query gives two columns the name 'customer_id' "
        "(columns 2 and 4, from a *)" in done.stderr
    ), done.stderr
    assert (
        "models/marts/nested.sql:1:1: the query gives two columns the name 'customer_id' "
        "(columns 1 and 2): a table" in done.stderr
    ), done.stderr
    assert "hint: give one of them another name" in done.stderr


def test_a_dbt_key_a_teal_project_does_not_read_is_a_warning(shop):
    root = shop()
    (root / "models" / "marts" / "tests.yml").write_text(
        "version: 2\nunit_tests:\n  - name: revenue_adds_up\n    model: revenue\n"
    )
    done = run_teal("ls", cwd=root)
    assert done.returncode == 0, done.output
    assert (
        "warning: models/marts/tests.yml:2:1: top-level key 'unit_tests' is one a dbt project "
        "reads; a teal project does not (ignored)" in done.stderr
    )
    assert "test a model's rows with checks" in done.stderr
    assert "'version'" not in done.stderr  # dbt's version: 2 says nothing either way


PARTITIONED_PY = """import pandas as pd
import polars as pl
import pyarrow as pa
import teal


@teal.asset(partitioned_by={"daily": {"start": "2025-01-01"}}, partition_column="day"POLICY)
def a(context) -> KIND:
    return ROWS
"""
# the frames a Python asset may return, each without the partition column
FRAMES = {
    "pl.DataFrame": 'pl.DataFrame({"d": [1], "x": [2]})',
    "pd.DataFrame": 'pd.DataFrame({"d": [1], "x": [2]})',  # its columns are an Index
    "pa.RecordBatchReader": 'pa.table({"d": [1], "x": [2]}).to_reader()',
}


@pytest.mark.parametrize(
    ("policy", "kind"),
    [("", kind) for kind in FRAMES] + [(", backfill_policy='single_run'", "pl.DataFrame")],
)
def test_a_partitioned_python_asset_without_its_partition_column_says_so(project, policy, kind):
    source = PARTITIONED_PY.replace("POLICY", policy).replace("KIND", kind)
    root = project({"models/a.py": source.replace("ROWS", FRAMES[kind])})
    done = run_teal("build", "--partition-range", "2025-01-01..2025-01-02", cwd=root)
    assert done.returncode == 1, done.output
    assert (
        "the rows it returned have no column 'day', its partition_column (they have: d, x)"
        in done.stdout
    ), done.output
    assert "Binder Error" not in done.output


def test_an_incremental_setting_on_a_table_is_a_located_warning(shop):
    root = shop(
        {
            "models/marts/daily.sql": "{{ config(unique_key='name', on_schema_change='fail') }}\n"
            "select name from revenue",
        }
    )
    done = run_teal("plan", cwd=root)
    _clean(done)
    assert done.returncode == 0
    assert (
        "models/marts/daily.sql:1:1: unique_key, on_schema_change applies to incremental "
        "models, and this one is materialized='table': it is ignored"
    ) in done.stderr
    strict = run_teal("--strict", "plan", cwd=root)
    assert strict.returncode == 2, strict.output
    (root / "models" / "marts" / "daily.sql").unlink()
    (root / "teal.toml").write_text(CONFIG + 'unique_key = "id"\n')  # every model's default
    quiet = run_teal("plan", cwd=root)
    assert quiet.returncode == 0 and "applies to incremental models" not in quiet.stderr
