"""What a Spark user of an existing project meets (docs/spark.md): an append audited with
the rows it joins, DuckDB's ``range(...)``/``generate_series(...)`` tables translated to
something Spark runs, and target settings Spark would ignore refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_project

CONFIG = """
name = "fixture"
threads = 1
[targets.spark]
engine = "spark"
[targets.spark.spark]
master = "local[2]"
"""

APPEND = {
    "models/raw/events.sql": "select * from (values (1, 'a'), (2, 'b')) as t(id, kind)\n",
    "models/marts/log.sql": (
        "{{ config(materialized='incremental') }}\nselect id, kind from raw.events\n"
    ),
    "models/marts/schema.yml": """
models:
  - name: log
    columns:
      - name: id
        tests: [unique]
""",
    "models/marts/log_count.sql": "select count(*) as n from log\n",
}


@pytest.mark.spark
@pytest.mark.slow
def test_an_append_is_audited_with_the_rows_already_in_the_table(
    tmp_path: Path, spark_session: Any
) -> None:
    """The second build appends ids 1 and 2 again: `unique` fails on the table as the
    append would leave it (as on DuckDB), so nothing is added and the downstream view is
    skipped. It used to audit the two new rows alone, pass, and append the duplicates."""
    from teal.runtime.session import Session
    from tests.spark_support import drop_databases

    root = write_project(tmp_path / "p", APPEND, CONFIG)
    try:
        with Session.open(root, target="spark") as session:
            first = session.build()
            assert first.success, [(r.model, r.message) for r in first.failed]
            second = session.build()
        assert [r.model for r in second.failed] == ["log"]
        assert "unique_log_id" in (second.failed[0].message or "")
        assert [r.model for r in second.skipped] == ["log_count"]
        assert spark_session.table("marts.log").count() == 2
        # the audit's view is a global temporary one, gone with the step
        views = spark_session.catalog.listTables("global_temp")
        assert [t.name for t in views if "__teal_audit" in t.name] == []
    finally:
        drop_databases(spark_session)


SERIES = {
    "models/ids.sql": "select id * 10 as v from range(1, 4) as t(id)\n",
    "models/plain.sql": "select range from range(3)\n",
    "models/series.sql": "select s.generate_series as g from generate_series(2, 4) as s\n",
}


@pytest.mark.spark
@pytest.mark.slow
def test_range_and_generate_series_tables_run_on_spark(tmp_path: Path, spark_session: Any) -> None:
    """DuckDB's table functions gave ``EXPLODE(SEQUENCE(1, 3), _u(t))``, which Spark
    cannot resolve (a step failure no validation saw); and the column keeps DuckDB's
    name (``range``, ``generate_series``) or the alias's."""
    from teal.runtime.session import Session
    from tests.spark_support import drop_databases

    root = write_project(tmp_path / "p", SERIES, CONFIG)
    try:
        with Session.open(root, target="spark") as session:
            result = session.build()
        assert result.success, [(r.model, r.message) for r in result.failed]
        got = {
            name: sorted(tuple(r) for r in spark_session.table(f"main.{name}").collect())
            for name in ("ids", "plain", "series")
        }
        assert got == {
            "ids": [(10,), (20,), (30,)],
            "plain": [(0,), (1,), (2,)],
            "series": [(2,), (3,), (4,)],
        }
    finally:
        drop_databases(spark_session)


def test_a_call_sqlglot_writes_wrongly_is_a_located_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A translation that calls a function Spark lacks (sqlglot's ``_u``, before the rewrite
    of series tables) is reported by validate, not met as a failed step."""
    from teal.warehouse.spark import transpile

    monkeypatch.setattr(transpile, "_series_table", lambda node: node)
    (found,) = transpile.problems("select id from range(1, 4) as t(id)")
    assert found.construct == "_u"
    assert "the translation to Spark SQL calls _u()" in found.message


TARGET = 'name = "fixture"\n[targets.spark]\nengine = "spark"\n'


@pytest.mark.parametrize(
    ("config", "flag", "message"),
    [
        (
            TARGET + 'warehouse = "prod.duckdb"\n',
            None,
            r"^teal\.toml:4: targets\.spark\.warehouse does not apply to a Spark target",
        ),
        (
            TARGET + "[targets.spark.duckdb]\nthreads = 2\n",
            None,
            r"^teal\.toml:4: targets\.spark\.duckdb does not apply to a Spark target",
        ),
        (TARGET, "other.duckdb", r"^--warehouse: --warehouse does not apply to target 'spark'"),
    ],
)
def test_duckdb_settings_on_a_spark_target_are_refused(
    tmp_path: Path, config: str, flag: str | None, message: str
) -> None:
    """A Spark target's `warehouse` key, its `[duckdb]` table and `--warehouse` were
    ignored without a word (the build went to warehouse_dir): each is a located error."""
    from teal.compiler.config import load_config
    from teal.compiler.errors import ProjectError

    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as id\n"}, config)
    with pytest.raises(ProjectError) as caught:
        load_config(root, target="spark", warehouse=flag)
    assert re.search(message, str(caught.value)), str(caught.value)
    assert "hint: " in str(caught.value)
