"""Every user mistake ends in one clear message (DESIGN.md rule 5), checked end to end.

Each test runs the real CLI in a subprocess and checks: the exit code (2 for project and
usage errors, 1 for models that fail while building), ``path:line:col:`` pointing into the
file the user wrote (not the rendered SQL), a hint where one helps, no Python traceback
unless ``--debug``, and that nothing an earlier successful build wrote was lost.

To keep subprocess count low, one healthy project is built once per module; every test
works on a copy of it (files and warehouse), breaks something, and rebuilds.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, write_project

TRACEBACK = "Traceback (most recent call last)"

CONFIG = """\
name = "errors"
threads = 2

[folders.staging]
materialized = "table"
"""

NUMBERS_PY = """\
import pyarrow as pa
import teal


@teal.asset
def numbers():
    return pa.table({"n": [1, 2, 3]})
"""

LETTERS_PY = """\
import pyarrow as pa
import teal


@teal.asset
def letters():
    return pa.table({"letter": ["a", "b"]})
"""

DOUBLED_SQL = "select n, n * 2 as d\nfrom numbers\n"
TOTAL_SQL = "select sum(d) as total\nfrom doubled\n"  # a view
LETTER_COUNT_SQL = "{{ config(materialized='table') }}\nselect count(*) as c\nfrom letters\n"
SCHEMA_YML = "models:\n  - name: doubled\n    description: twice the numbers\n"

FILES = {
    "models/raw/numbers.py": NUMBERS_PY,
    "models/raw/letters.py": LETTERS_PY,
    "models/staging/doubled.sql": DOUBLED_SQL,
    "models/staging/schema.yml": SCHEMA_YML,
    "models/marts/total.sql": TOTAL_SQL,
    "models/marts/letter_count.sql": LETTER_COUNT_SQL,
}

# What the first, successful build wrote. Every failing build below must leave it intact.
BASELINE = {
    "raw.numbers": ("BASE TABLE", [(1,), (2,), (3,)]),
    "raw.letters": ("BASE TABLE", [("a",), ("b",)]),
    "staging.doubled": ("BASE TABLE", [(1, 2), (2, 4), (3, 6)]),
    "marts.total": ("VIEW", [(12,)]),
    "marts.letter_count": ("BASE TABLE", [(2,)]),
}


def snapshot(root: Path) -> dict[str, tuple[str, list[tuple]]]:
    """Every relation outside teal's own state schema, with its type and sorted rows."""
    db = root / "warehouse.duckdb"
    relations = query(
        db,
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema <> 'teal' order by 1, 2",
    )
    return {
        f"{schema}.{name}": (kind, query(db, f'select * from "{schema}"."{name}" order by all'))
        for schema, name, kind in relations
    }


def assert_nothing_lost(root: Path, **changed: tuple[str, list[tuple]]) -> None:
    """The warehouse still holds the baseline, except relations rebuilt on purpose."""
    expected = {**BASELINE, **{k.replace("__", "."): v for k, v in changed.items()}}
    assert snapshot(root) == expected


def assert_clean(done, code: int) -> None:
    assert done.returncode == code, done.output
    assert TRACEBACK not in done.output, done.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("errors") / "base", FILES, CONFIG)
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert snapshot(root) == BASELINE
    return root


@pytest.fixture
def proj(built: Path, tmp_path: Path):
    """A fresh copy of the built project (files and warehouse) to break."""
    root = tmp_path / "proj"
    shutil.copytree(built, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def py_model(name: str, body: str, imports: str = "import pyarrow as pa\nimport teal\n") -> str:
    """A Python model file: imports on lines 1-2, ``@teal.asset`` on line 5, def on 6."""
    return (
        f"{imports}\n\n@teal.asset\ndef {name}():\n{textwrap.indent(textwrap.dedent(body), '    ')}"
    )


# -- project errors: exit 2, nothing runs, nothing is lost -------------------------------------

COMPILE_ERRORS = {
    "sql_syntax": dict(
        files={
            "models/staging/doubled.sql": "select n,\n       n * 2 as d\nfrom numbers\nwhere n = = 2\n"
        },
        where="models/staging/doubled.sql:4:11:",
        says=["SQL syntax error", "where n = = 2"],
        hint="hint: fix the SQL",
    ),
    "sql_syntax_after_multiline_config": dict(
        files={
            "models/staging/doubled.sql": (
                "{{ config(\n    materialized='table',\n    tags=['nightly'],\n) }}\n"
                "select n,\n       n * 2 as d\nfrom numbers\nwhere n = = 2\n"
            )
        },
        where="models/staging/doubled.sql:8:11:",
        says=["SQL syntax error", "where n = = 2"],
        hint="hint: fix the SQL",
    ),
    "sql_syntax_after_jinja_on_the_same_line": dict(
        files={
            "models/staging/doubled.sql": (
                "select n, n * 2 as d\nfrom numbers\nwhere n > {{ var('low', 0) }} and and n < 5\n"
            )
        },
        where="models/staging/doubled.sql:3:35:",
        says=["SQL syntax error: 'AND' needs a value on its right"],
        hint="hint: fix the SQL",
    ),
    "sql_incomplete_expression": dict(
        files={"models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbers\nwhere n >\n"},
        where="models/staging/doubled.sql:3:9:",
        says=["SQL syntax error: '>' needs a value on its right"],
        hint="hint: fix the SQL",
    ),
    "sql_ending_where_more_is_expected": dict(
        files={"models/staging/doubled.sql": "select n, n * 2 as d\nfrom\n"},
        where="models/staging/doubled.sql:2:1:",
        says=["SQL syntax error: Expected table name but got the end of the query"],
        hint="hint: fix the SQL",
    ),
    "sql_unclosed_quote": dict(
        files={"models/staging/doubled.sql": "select n,\n       'twice as d\nfrom numbers\n"},
        where="models/staging/doubled.sql:2:8:",
        says=["SQL syntax error: the quoted text starting here is never closed", "'twice as d"],
        hint="hint: check for an unclosed quote",
    ),
    "jinja_syntax": dict(
        files={
            "models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbers\nwhere n > {{ 1 + }}\n"
        },
        where="models/staging/doubled.sql:3:",
        says=["Jinja syntax error", "where n > {{ 1 + }}"],
        hint="hint: check the {{ }} and {% %} tags",
    ),
    "jinja_undefined_variable": dict(
        files={
            "models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbers\nwhere n > {{ threshold }}\n"
        },
        where="models/staging/doubled.sql:3:14:",
        says=["'threshold' is undefined"],
        hint="var('threshold')",
    ),
    "jinja_misspelt_function": dict(
        files={
            "models/staging/doubled.sql": (
                "select n, n * 2 as d\nfrom numbers\n"
                "{% if is_incrementl() %}where n > 1{% endif %}\n"
            )
        },
        where="models/staging/doubled.sql:3:7:",
        says=["'is_incrementl' is undefined"],
        hint="hint: did you mean 'is_incremental'?",
    ),
    "var_missing": dict(
        files={
            "models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbers\nwhere n > {{ var('min_n') }}\n"
        },
        where="models/staging/doubled.sql:3:14:",
        says=["var('min_n') is not defined"],
        hint="--vars '{min_n: ...}'",
    ),
    "unknown_table": dict(
        files={"models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbrs\n"},
        where="models/staging/doubled.sql:2:6:",
        says=["'numbrs' is not a model or a declared source"],
        hint="hint: did you mean 'numbers'?",
    ),
    "bad_config_key": dict(
        files={
            "models/marts/letter_count.sql": "{{ config(materialised='table') }}\nselect count(*) as c\nfrom letters\n"
        },
        where="models/marts/letter_count.sql:1:11:",
        says=["unknown config key 'materialised'"],
        hint="hint: did you mean 'materialized'?",
    ),
    "bad_config_value": dict(
        files={
            "models/marts/letter_count.sql": (
                "{{ config(\n    tags=['nightly'],\n    materialized='tabel',\n) }}\n"
                "select count(*) as c\nfrom letters\n"
            )
        },
        where="models/marts/letter_count.sql:3:5:",
        says=["materialized='tabel' is not a materialization"],
        hint="hint: did you mean 'table'?",
    ),
    "cycle": dict(
        # doubled reads letter_count, which reads total, which reads doubled
        files={
            "models/staging/doubled.sql": (
                "select n, n * 2 as d\nfrom numbers\nwhere n <= (select max(c) from letter_count)\n"
            ),
            "models/marts/letter_count.sql": "select count(*) as c\nfrom letters, total\n",
        },
        where="models/staging/doubled.sql:3:32:",
        says=[
            "models form a cycle: doubled (models/staging/doubled.sql) -> letter_count "
            "(models/marts/letter_count.sql) -> total (models/marts/total.sql) -> doubled "
            "(models/staging/doubled.sql)"
        ],
        hint="hint: each arrow means 'reads'",
    ),
    "double_comma": dict(
        files={"models/staging/doubled.sql": "select n,, n * 2 as d\nfrom numbers\n"},
        where="models/staging/doubled.sql:1:10:",
        says=["SQL syntax error: two commas with nothing between them"],
        hint="hint: remove the extra ','",
    ),
    "reads_itself": dict(
        files={"models/marts/total.sql": "select sum(n) as s\nfrom numbers, total\n"},
        where="models/marts/total.sql:2:15:",
        says=["models form a cycle: total (models/marts/total.sql) reads itself"],
        hint="hint: a build creates the model from what it reads",
    ),
    "duplicate_model_name": dict(
        files={"models/marts/numbers.sql": "select 1 as n\n"},
        where="models/marts/numbers.sql:1:",
        says=[
            "model name 'numbers' is defined twice",
            "models/raw/numbers.py:5",
            "models/marts/numbers.sql",
        ],
        hint="hint: model names are unique",
    ),
    "python_syntax_error": dict(
        files={"models/raw/numbers.py": NUMBERS_PY.replace("def numbers():", "def numbers(:")},
        where="models/raw/numbers.py:6:13:",
        says=["Python syntax error", "def numbers(:"],
        hint="hint: fix the syntax at that line (`python -m py_compile models/raw/numbers.py`",
    ),
    "python_raises_at_import": dict(
        files={
            "models/raw/numbers.py": "import pyarrow as pa\nimport teal\n\nSCALE = int('ten')\n"
            + NUMBERS_PY.split("import teal\n", 1)[1]
        },
        where="models/raw/numbers.py:4:",
        says=["ValueError", "invalid literal for int()"],
        hint="hint: fix the error at module level",
    ),
    "python_asset_keyword_misspelt": dict(
        files={
            "models/raw/numbers.py": NUMBERS_PY.replace(
                "@teal.asset\n", "@teal.asset(partition_colum='n')\n"
            )
        },
        where="models/raw/numbers.py:5:",
        says=["asset() got an unexpected keyword argument 'partition_colum'"],
        hint="hint: did you mean 'partition_column'?",
    ),
    "python_asset_dagster_keyword": dict(
        files={
            "models/raw/numbers.py": NUMBERS_PY.replace(
                "@teal.asset\n", "@teal.asset(code_version='2')\n"
            )
        },
        where="models/raw/numbers.py:5:",
        says=["asset() got an unexpected keyword argument 'code_version'"],
        hint="hint: teal versions an asset by its function's source",
    ),
    "python_asset_dagster_partitions_def": dict(
        # not "did you mean 'partition_by'": that one is the external files' option
        files={
            "models/raw/numbers.py": NUMBERS_PY.replace(
                "@teal.asset\n", "@teal.asset(partitions_def={'daily': '2026-01-01'})\n"
            )
        },
        where="models/raw/numbers.py:5:",
        says=["asset() got an unexpected keyword argument 'partitions_def'"],
        hint="hint: write partitioned_by= (a mapping such as {'daily': '2026-01-01'}",
    ),
    "python_parameter_misspelt": dict(
        # located at the parameter, not at the decorator above the signature
        files={
            "models/marts/halves.py": (
                "import teal\n\n\n@teal.asset\ndef halves(\n    context,\n    numbrs,\n):\n"
                "    return numbrs\n"
            )
        },
        where="models/marts/halves.py:7:5:",
        says=["parameter 'numbrs' of asset 'halves' is not a model, a declared source"],
        hint="hint: did you mean 'numbers'?",
    ),
    "yaml_syntax": dict(
        files={"models/staging/schema.yml": SCHEMA_YML + "   tags: [x]\n"},
        where="models/staging/schema.yml:4:4:",
        says=["invalid YAML"],
        hint="hint: check indentation",
    ),
    "yaml_list_as_key": dict(
        files={"models/staging/schema.yml": SCHEMA_YML + "    meta:\n      ? [a, b]\n      : c\n"},
        where="models/staging/schema.yml:5:9:",
        says=["a key must be a single value, not a list or a mapping"],
        hint="hint: check indentation",
    ),
    "yaml_alias_to_itself": dict(
        files={"models/staging/schema.yml": SCHEMA_YML + "    tags: &t [x, *t]\n"},
        where="models/staging/schema.yml:4:11:",
        says=["an alias refers to the collection it is in"],
        hint="hint: check indentation",
    ),
    "yaml_unknown_key": dict(
        files={"models/staging/schema.yml": SCHEMA_YML.replace("description", "descripton")},
        where="models/staging/schema.yml:3:5:",
        says=["unknown key 'descripton' for model 'doubled'"],
        hint="hint: did you mean 'description'?",
    ),
    "yaml_bad_config_value": dict(
        files={
            "models/staging/schema.yml": SCHEMA_YML + "    config:\n      materialized: tabel\n"
        },
        where="models/staging/schema.yml:5:7:",
        says=["materialized='tabel' is not a materialization"],
        hint="hint: did you mean 'table'?",
    ),
    "ambiguous_column": dict(
        files={"models/marts/pairs.sql": "select d\nfrom doubled a\njoin doubled b on a.n = b.n\n"},
        where="models/marts/pairs.sql:1:8:",
        says=["column 'd' is ambiguous: more than one table this query reads has it"],
        hint="hint: qualify it with the name or alias of the table it comes from",
    ),
    "toml_syntax": dict(
        files={"teal.toml": CONFIG + "[vars\nday = 1\n"},
        where="teal.toml:6:6:",
        says=["invalid TOML: the table header '[vars' has no closing ']'"],
        hint="hint: write it [vars]",
    ),
    "toml_value": dict(
        files={"teal.toml": CONFIG + "[vars]\nday = 2026-13\n"},
        where="teal.toml:7:",
        says=["invalid TOML"],
        hint="hint: fix the line (a value is a string in quotes",
    ),
    "toml_unknown_key": dict(
        # a misspelt key must not silently build into the default warehouse
        files={
            "teal.toml": CONFIG.replace("threads = 2", 'threads = 2\nwarehose = "other.duckdb"')
        },
        where="teal.toml:3:",
        says=["unknown project setting 'warehose'"],
        hint="hint: did you mean 'warehouse'?",
    ),
    "toml_folder_key": dict(
        # CONFIG's [folders.staging] is on line 4: the error is at the key, not the header
        files={"teal.toml": CONFIG + 'tags = ["s"]\nmaterialised = "view"\n'},
        where="teal.toml:7:1:",
        says=["unknown config key 'materialised'"],
        hint="hint: did you mean 'materialized'?",
    ),
    "toml_wrong_type": dict(
        files={"teal.toml": CONFIG.replace("threads = 2", 'threads = "two"')},
        where="teal.toml:2:1:",
        says=["project setting 'threads' must be an integer, got 'two'"],
        hint="hint: write threads = 4",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(COMPILE_ERRORS), ids=list(COMPILE_ERRORS))
def test_project_error_points_at_the_source_and_loses_nothing(proj: Path, case: str) -> None:
    spec = COMPILE_ERRORS[case]
    write(proj, spec["files"])
    done = run_teal("build", cwd=proj)
    assert_clean(done, 2)
    # the location starts a line: relative to the project root, never absolute
    assert any(line.startswith(spec["where"]) for line in done.stderr.splitlines()), done.output
    for fragment in spec["says"]:
        assert fragment in done.stderr, done.output
    if spec["hint"]:
        assert spec["hint"] in done.stderr, done.output
    assert "Building" not in done.stdout  # nothing ran
    assert_nothing_lost(proj)


@pytest.mark.slow
def test_the_location_line_comes_first(proj: Path) -> None:
    """``path:line:col: message`` starts the message, so editors can jump to it."""
    write(proj, {"models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbrs\n"})
    done = run_teal("build", cwd=proj)
    assert_clean(done, 2)
    first = done.stderr.splitlines()[0]
    assert first == "models/staging/doubled.sql:2:6: 'numbrs' is not a model or a declared source"


@pytest.mark.slow
def test_independent_mistakes_are_reported_together(proj: Path) -> None:
    write(
        proj,
        {
            "models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbers\nwhere n = = 2\n",
            "models/marts/letter_count.sql": "{{ config(materialised='table') }}\nselect 1 as c\n",
        },
    )
    done = run_teal("build", cwd=proj)
    assert_clean(done, 2)
    lines = done.stderr.splitlines()
    assert (
        "models/staging/doubled.sql:3:11: SQL syntax error: '=' needs a value on its right" in lines
    )
    assert "models/marts/letter_count.sql:1:11: unknown config key 'materialised'" in lines
    assert lines[-1] == "2 problems found"
    assert_nothing_lost(proj)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["after", "before"])
def test_debug_shows_the_traceback(proj: Path, where: str) -> None:
    write(proj, {"models/staging/doubled.sql": "select n, n * 2 as d\nfrom numbrs\n"})
    args = ("build", "--debug") if where == "after" else ("--debug", "build")
    done = run_teal(*args, cwd=proj)
    assert done.returncode == 2, done.output
    assert TRACEBACK in done.stderr
    assert "models/staging/doubled.sql:2:6: 'numbrs' is not a model" in done.stderr
    assert_nothing_lost(proj)


# -- models that fail while building: exit 1, the rest of the build carries on ----------------


@pytest.mark.slow
def test_python_model_that_raises(proj: Path) -> None:
    write(
        proj,
        {
            "models/raw/numbers.py": py_model(
                "numbers",
                """\
            rows = [1, 2, 3]
            raise ValueError(f"bad batch of {len(rows)} rows")
        """,
            ),
            # unrelated to numbers: must still build (with its new rows)
            "models/raw/letters.py": LETTERS_PY.replace('["a", "b"]', '["a", "b", "c"]'),
        },
    )
    done = run_teal("build", cwd=proj)
    assert_clean(done, 1)
    assert "models/raw/numbers.py:8: ValueError: bad batch of 3 rows" in done.stdout
    lines = done.stdout.splitlines()
    assert any(
        "SKIP" in ln and "staging.doubled" in ln and "upstream numbers failed" in ln for ln in lines
    ), done.stdout
    assert any("SKIP" in ln and "marts.total" in ln for ln in lines), done.stdout
    assert "2 built, 1 failed, 2 skipped" in done.stdout
    # numbers keeps its old table; its descendants are untouched; letters moved on
    assert_nothing_lost(
        proj,
        raw__letters=("BASE TABLE", [("a",), ("b",), ("c",)]),
        marts__letter_count=("BASE TABLE", [(3,)]),
    )


@pytest.mark.slow
def test_python_model_returning_an_unsupported_type(proj: Path) -> None:
    write(
        proj,
        {
            "models/raw/numbers.py": py_model("numbers", "return 42\n"),
            "models/raw/letters.py": py_model("letters", "return None\n"),
        },
    )
    done = run_teal("build", cwd=proj)
    assert_clean(done, 1)
    out = done.stdout
    assert "models/raw/numbers.py:5: asset 'numbers' returned int" in out, out
    assert "models/raw/letters.py:5: asset 'letters' returned None" in out, out
    for supported in (
        "pyarrow.Table",
        "polars.DataFrame",
        "pandas.DataFrame",
        "duckdb.DuckDBPyRelation",
    ):
        assert supported in out
    assert "0 built, 2 failed, 3 skipped" in out
    assert_nothing_lost(proj)


@pytest.mark.slow
def test_sql_model_failing_in_duckdb(proj: Path) -> None:
    write(
        proj,
        {
            "models/staging/doubled.sql": "select n,\n       n * 2 as d,\n       nope + 1 as e\nfrom numbers\n"
        },
    )
    # binding finds it before any data changes: exit 2, nothing built
    done = run_teal("build", cwd=proj)
    assert_clean(done, 2)
    assert "models/staging/doubled.sql:3:8: column 'nope' does not exist in numbers" in (
        done.stderr
    )
    assert_nothing_lost(proj)
    # without binding, DuckDB meets it: a failed step, and what reads it is skipped
    done = run_teal("build", "--no-validate", cwd=proj)
    assert_clean(done, 1)
    assert (
        'models/staging/doubled.sql:3:8: Binder Error: Referenced column "nope" not found'
        in done.stdout
    )
    assert any(
        "SKIP" in ln and "marts.total" in ln and "upstream doubled failed" in ln
        for ln in done.stdout.splitlines()
    ), done.stdout
    assert "3 built, 1 failed, 1 skipped" in done.stdout
    assert_nothing_lost(proj)  # the old staging.doubled table still has its rows


@pytest.mark.slow
def test_fail_fast_stops_the_build(proj: Path) -> None:
    """Two independent roots fail; with --fail-fast only the first runs, the other is skipped."""
    write(
        proj,
        {
            "models/raw/numbers.py": py_model("numbers", "raise RuntimeError('numbers broke')\n"),
            "models/raw/letters.py": py_model("letters", "raise RuntimeError('letters broke')\n"),
        },
    )
    done = run_teal("build", "--threads", "1", "--fail-fast", cwd=proj)
    assert_clean(done, 1)
    lines = done.stdout.splitlines()
    errors = [ln for ln in lines if "] ERROR" in ln]
    assert len(errors) == 1, done.stdout
    failed_first = "numbers" if "raw.numbers" in errors[0] else "letters"
    other = "letters" if failed_first == "numbers" else "numbers"
    assert any("SKIP" in ln and f"raw.{other}" in ln and "--fail-fast" in ln for ln in lines), (
        done.stdout
    )
    assert "0 built, 1 failed, 4 skipped" in done.stdout
    assert_nothing_lost(proj)

    done = run_teal("build", "--threads", "1", cwd=proj)  # without it, both run and fail
    assert_clean(done, 1)
    assert "0 built, 2 failed, 3 skipped" in done.stdout
    assert "models/raw/numbers.py:7: RuntimeError: numbers broke" in done.stdout
    assert "models/raw/letters.py:7: RuntimeError: letters broke" in done.stdout
    assert_nothing_lost(proj)


# -- usage errors ------------------------------------------------------------------------------


def test_dbt_seed_and_snapshot_in_a_teal_project_say_what_teal_does_instead(proj: Path) -> None:
    for command, hint in (("seed", "type: csv"), ("snapshot", "incremental model")):
        done = run_teal(command, cwd=proj)
        assert_clean(done, 2)
        assert f"`teal {command}` builds a dbt project's {command}s" in done.stderr
        assert hint in done.stderr
    assert_nothing_lost(proj)


def test_missing_project(tmp_path: Path) -> None:
    done = run_teal("build", cwd=tmp_path)
    assert_clean(done, 2)
    assert done.stderr.startswith(f"error: no teal project found in {tmp_path.resolve()}"), (
        done.stderr
    )
    assert "hint: create teal.toml" in done.stderr


@pytest.mark.slow
def test_reading_a_model_never_built_and_not_selected(proj: Path) -> None:
    """A new model below a new one, selected alone: refused before anything runs, with
    the selection that builds both (not the warehouse's "does not exist" after others)."""
    (proj / "models" / "staging" / "tripled.sql").write_text("select n * 3 as t from numbers\n")
    (proj / "models" / "marts" / "big.sql").write_text(
        "{{ config(materialized='table') }}\nselect max(t) as m from tripled\n"
    )
    done = run_teal("build", "-s", "big", cwd=proj)
    assert_clean(done, 2)
    assert "models/marts/big.sql: big reads tripled, which is not built yet and not selected" in (
        done.stderr
    )
    assert "hint: build it too: `teal build -s +big`" in done.stderr
    assert_nothing_lost(proj)
    assert run_teal("build", "-s", "+big", cwd=proj).returncode == 0


def test_unknown_select_name(proj: Path) -> None:
    done = run_teal("build", "--select", "doubled numbrs", cwd=proj)
    assert_clean(done, 2)
    assert "--select: 'numbrs' matches no model, folder or path (at position 9)" in done.stderr
    assert "hint: did you mean 'numbers'?" in done.stderr
    assert_nothing_lost(proj)


@pytest.mark.slow
@pytest.mark.parametrize(
    "value, says",
    [
        ("{low: 1", "not valid YAML"),
        ("[1, 2]", "must be a mapping"),
    ],
)
def test_bad_vars(proj: Path, value: str, says: str) -> None:
    done = run_teal("build", "--vars", value, cwd=proj)
    assert_clean(done, 2)
    assert done.stderr.startswith("--vars: "), done.stderr
    assert says in done.stderr
    assert "hint: write --vars '{" in done.stderr
    assert "<unicode string>" not in done.stderr  # no parser internals
    assert_nothing_lost(proj)


def test_unknown_key_of_a_yaml_model_entry_shows_its_line_and_the_known_keys(proj: Path) -> None:
    """docs/errors.md: a YAML key's error shows the line under the message, as every other
    located error does, and says what it could be (``tsets`` is too far from ``tests``
    for a "did you mean")."""
    write(proj, {"models/staging/schema.yml": "models:\n  - name: doubled\n    tsets: [x]\n"})
    done = run_teal("validate", cwd=proj)
    assert_clean(done, 2)
    assert done.stderr.startswith(
        "models/staging/schema.yml:3:5: unknown key 'tsets' for model 'doubled'\n"
        "        tsets: [x]\n"
        "        ^\n"
    ), done.stderr
    assert "hint: known: " in done.stderr and "tests" in done.stderr, done.stderr
