"""The same project on DuckDB and on Spark: the example project built on both gives equal
relations (names, row counts, content checksums), a partition refreshes on Spark, and a
model Spark cannot run is a located error before anything runs (docs/spark.md)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_teal, write_project

SPARK_TARGET = """
[tool.teal.targets.spark]
engine = "spark"

[tool.teal.targets.spark.spark]
master = "local[2]"
"""


def _canonical(value: Any) -> str:
    """A value as both engines' Arrow output must agree on it: decimals by their value
    (DuckDB and Spark choose different precisions for the same sum), times naive."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 9))
    return repr(value)


def checksum(table: Any) -> tuple[tuple[str, ...], int, int]:
    """(column names, rows, sum of a hash of each row): independent of row order."""
    total = 0
    for row in table.to_pylist():
        text = "|".join(_canonical(v) for v in row.values())
        total += int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return tuple(table.column_names), table.num_rows, total % (1 << 64)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, spark_session: Any) -> dict[str, Any]:
    """The example project (models/, checks/, data/ of the repository, 2,000 orders) built
    once on DuckDB and once on the shared local Spark session."""
    from teal.runtime.session import Session

    root = tmp_path_factory.mktemp("example")
    for folder in ("models", "checks", "data"):
        shutil.copytree(REPO / folder, root / folder)
    config = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    config = config[config.index("[tool.teal]") :].replace(
        "order_count = 100000", "order_count = 2000"
    )
    (root / "pyproject.toml").write_text(config + SPARK_TARGET, encoding="utf-8")
    found: dict[str, Any] = {"root": root}
    with Session.open(root) as duck:
        found["duckdb"] = duck.build()
        found["relations"] = {
            name: (m.schema, m.alias)
            for name, m in duck.project.models.items()
            if m.materialized != "ephemeral"
        }
    with Session.open(root, target="spark") as spark:
        found["spark"] = spark.build()
    return found


def _read_duckdb(root: Path, schema: str, name: str) -> Any:
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(f'select * from "{schema}"."{name}"').to_arrow_table()
    finally:
        con.close()


def _spark_engine(root: Path) -> Any:
    from teal.compiler.config import load_config
    from teal.warehouse.engine import open_engine

    return open_engine(load_config(root, target="spark"), read_only=True)


@pytest.mark.spark
@pytest.mark.slow
def test_the_example_project_is_equal_on_duckdb_and_spark(built: dict[str, Any]) -> None:
    assert built["duckdb"].success and built["spark"].success
    assert len(built["spark"].built) == len(built["duckdb"].built) == 20
    root = built["root"]
    with _spark_engine(root) as engine:
        differ = {}
        for model, (schema, name) in sorted(built["relations"].items()):
            on_duckdb = checksum(_read_duckdb(root, schema, name))
            on_spark = checksum(engine.read_relation(schema, name))
            if on_duckdb != on_spark:
                differ[model] = (on_duckdb, on_spark)
            assert on_duckdb[1] > 0, model
    assert differ == {}


@pytest.mark.spark
@pytest.mark.slow
def test_a_partition_refreshes_on_spark(built: dict[str, Any]) -> None:
    from teal.compiler.plan import PlanOptions
    from teal.runtime.session import Session

    root = built["root"]
    with _spark_engine(root) as engine:
        before = checksum(engine.read_relation("marts", "daily_revenue"))
    with Session.open(root, target="spark") as spark:
        result = spark.build("daily_revenue", options=PlanOptions(partition_keys=("2025-03-01",)))
    assert result.success and [r.model for r in result.built] == ["daily_revenue"]
    with _spark_engine(root) as engine:
        assert checksum(engine.read_relation("marts", "daily_revenue")) == before
        day = engine.partition_state("daily_revenue")["daily_revenue"]["2025-03-01"]
    assert day["status"] == "success" and day["run_id"] == result.run_id and day["rows"] == 1


UNTRANSLATABLE = {
    "models/ok.sql": "select 1 as id\n",
    "models/hashed.sql": "select\n    id,\n    epoch_ns(now()) as at_ns\nfrom ok\n",
}
CONFIG = """
name = "fixture"
threads = 2
[targets.spark]
engine = "spark"
[targets.spark.spark]
master = "local[2]"
"""


@pytest.mark.slow
def test_validate_names_what_spark_cannot_run_with_its_place(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", UNTRANSLATABLE, CONFIG)
    done = run_teal("validate", "--target", "spark", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/hashed.sql:3:5: hashed cannot run on Spark: function epoch_ns()" in done.output
    assert "Traceback" not in done.output
    assert run_teal("validate", cwd=root).returncode == 0  # DuckDB runs it


@pytest.mark.slow
def test_a_spark_build_refuses_before_any_data_changes(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", UNTRANSLATABLE, CONFIG)
    done = run_teal("build", "--target", "spark", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/hashed.sql:3:5:" in done.output and "epoch_ns" in done.output
    assert not (root / ".teal" / "spark-warehouse").exists()  # Spark never started


@pytest.mark.slow
def test_unknown_spark_setting_is_located(tmp_path: Path) -> None:
    config = CONFIG + 'warehouse_dri = "x"\n'
    root = write_project(tmp_path / "p", {"models/ok.sql": "select 1 as id\n"}, config)
    done = run_teal("validate", "--target", "spark", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:8:1: unknown key 'warehouse_dri' in targets.spark.spark" in done.output
    assert "warehouse_dir" in done.output


SOURCES = {
    "models/sources.yml": """
sources:
  - name: lake
    type: parquet
    path: ../data/{table}.parquet
    tables: [clicks]
  - name: reference
    type: csv
    path: ../data/{table}.csv
    tables: [countries]
  - name: landing
    tables: [events]
""",
    "models/click_totals.sql": "select page, sum(amount) as total from lake.clicks group by page\n",
    "models/country_names.sql": "select code, upper(name) as name from reference.countries\n",
    "models/event_kinds.sql": "select kind, count(*) as n from landing.events group by kind\n",
}


@pytest.mark.spark
@pytest.mark.slow
def test_file_and_catalog_sources_are_read_on_spark(tmp_path: Path, spark_session: Any) -> None:
    """The issue's sources on Spark: Parquet and CSV files, and a table already in the
    Spark catalog (a source without a path), each read by a model built on Spark."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from teal.runtime.session import Session

    root = write_project(tmp_path / "p", SOURCES, CONFIG)
    (root / "data").mkdir()
    clicks = pa.table({"page": ["a", "b", "a"], "amount": pa.array([1, 2, 3], pa.int64())})
    pq.write_table(clicks, root / "data" / "clicks.parquet")
    (root / "data" / "countries.csv").write_text("code,name\nPT,Portugal\nES,Spain\n")
    spark_session.sql("DROP DATABASE IF EXISTS landing CASCADE")
    spark_session.sql("CREATE DATABASE landing")
    spark_session.sql(
        "CREATE TABLE landing.events USING parquet AS "
        "SELECT * FROM VALUES (1, 'view'), (2, 'view'), (3, 'buy') AS t(id, kind)"
    )
    try:
        with Session.open(root, target="spark") as spark:
            result = spark.build()
        assert result.success, [(r.model, r.message) for r in result.failed]
        with _spark_engine(root) as engine:
            got = {
                name: sorted(
                    tuple(r.values()) for r in engine.read_relation("main", name).to_pylist()
                )
                for name in ("click_totals", "country_names", "event_kinds")
            }
    finally:
        spark_session.sql("DROP DATABASE IF EXISTS landing CASCADE")
    assert got["click_totals"] == [("a", 4), ("b", 2)]
    assert got["country_names"] == [("ES", "SPAIN"), ("PT", "PORTUGAL")]
    assert got["event_kinds"] == [("buy", 1), ("view", 2)]
