"""Python models on Spark: a parameter annotated ``pyspark.sql.DataFrame`` receives its
upstream as a Spark DataFrame (nothing collected), a Spark DataFrame returned is written
without leaving Spark, and inputs collected through Arrow above ``arrow_warn_rows`` rows
warn (docs/spark.md, "Python models")."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_project

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CONFIG = """
name = "fixture"
threads = 1
[targets.spark]
engine = "spark"
[targets.spark.spark]
master = "local[2]"
arrow_warn_rows = 2
"""

FILES = {
    "models/raw/nums.sql": "select * from (values (1), (2), (3)) as t(id)\n",
    "models/marts/doubled.py": """
        import pyspark.sql

        import teal


        @teal.asset
        def doubled(nums: pyspark.sql.DataFrame) -> pyspark.sql.DataFrame:
            if not isinstance(nums, pyspark.sql.DataFrame):
                raise TypeError(f"got {type(nums)}")
            return nums.selectExpr("id", "id * 2 AS twice")
        """,
    "models/marts/collected.py": """
        import pyarrow as pa

        import teal


        @teal.asset
        def collected(doubled: pa.Table) -> pa.Table:
            return doubled.append_column("seen", pa.array([True] * doubled.num_rows))
        """,
}


def test_spark_dataframes_in_and_out_and_the_collect_warning(
    tmp_path: Path, spark_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from teal.runtime.session import Session
    from tests.spark_support import drop_databases

    root = write_project(tmp_path / "p", FILES, CONFIG)
    try:
        with caplog.at_level(logging.WARNING, logger="teal"):
            with Session.open(root, target="spark") as session:
                result = session.build()
        assert result.success, [(r.model, r.message) for r in result.failed]
        doubled = spark_session.table("marts.doubled").orderBy("id").collect()
        assert [(r.id, r.twice) for r in doubled] == [(1, 2), (2, 4), (3, 6)]
        assert spark_session.table("marts.collected").count() == 3
        warned = [r.getMessage() for r in caplog.records if "arrow_warn_rows" in r.getMessage()]
        # one input collected (collected's 3 rows); doubled's came as a Spark DataFrame
        assert len(warned) == 1 and "collected 3 rows from Spark" in warned[0], warned
    finally:
        drop_databases(spark_session)


def test_a_spark_dataframe_input_on_duckdb_says_it_needs_spark(tmp_path: Path) -> None:
    from teal.runtime.session import Session

    files = {k: v for k, v in FILES.items() if "collected" not in k}
    root = write_project(tmp_path / "p", files, CONFIG)
    with Session.open(root) as session:
        result = session.build()
    assert not result.success
    (failed,) = result.failed
    assert failed.model == "doubled" and "needs a Spark target" in (failed.message or "")
