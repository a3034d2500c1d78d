"""The statement skeletons: rendered ahead exactly as sqlglot renders them, and a build that
needs no parser."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from teal.warehouse import rendered_skeletons, skeletons
from teal.warehouse.statements import Statements


def test_the_skeletons_rendered_ahead_are_current():
    built, quotes = skeletons.rendered()
    stale = {
        key: (rendered_skeletons.RENDERED.get(key), text)
        for key, text in built.items()
        if rendered_skeletons.RENDERED.get(key) != text
    }
    extra = set(rendered_skeletons.RENDERED) - set(built)
    assert not stale and not extra and rendered_skeletons.QUOTES == quotes, (
        "warehouse/rendered_skeletons.py is stale: run `python -m teal.warehouse.skeletons` "
        f"then `ruff format warehouse/rendered_skeletons.py` ({len(stale)} changed, "
        f"{len(extra)} no longer built)"
    )


def test_another_dialect_renders_on_first_use():
    spark = Statements("spark")
    relation = spark.qualified("marts", "or`ders")
    assert relation == "`marts`.`or``ders`"
    assert spark.create_as(relation, "SELECT 1") == (
        "CREATE OR REPLACE TABLE `marts`.`or``ders` AS \nSELECT 1"
    )
    assert spark.drop(relation, if_exists=True) == "DROP TABLE IF EXISTS `marts`.`or``ders`"


def test_a_build_imports_no_sql_parser(tmp_path):
    # importing sqlglot costs more than a no-op build: the engine runs on rendered text
    script = textwrap.dedent(
        """
        import sys
        from datetime import datetime
        from teal.compiler.checks import builtin_check
        from teal.warehouse.duckdb import DuckDBEngine
        from teal.warehouse.engine import BuildTarget

        with DuckDBEngine(sys.argv[1]) as engine:
            engine.ensure_schemas({"marts"})
            cur = engine.cursor()
            target = BuildTarget("o", "marts", "o", "table", "h", "r1")
            cur.build_table(target, "SELECT 1 AS id")
            cur.incremental_upsert(target, "SELECT 1 AS id", ["id"])
            checks = [
                builtin_check(kind, asset="o", column="id", params={}, options={})
                for kind in ("not_null", "unique")
            ]
            measured = cur.measure(cur.relation_sql("marts", "o"), checks)
            assert [m.failing for m in measured] == [0, 0], measured
            now = datetime.now()
            engine.record_run(run_id="r1", command="build", started_at=now, finished_at=now,
                              status="success", selected=1, succeeded=1, failed=0, skipped=[])
            engine.plan_state()
        print(sorted({m.split(".")[0] for m in sys.modules if m.startswith("sqlglot")}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
