import pytest

from tests.conftest import query, run_teal


@pytest.mark.slow  # a real subprocess build
def test_sql_and_python_models_build_in_order(project):
    root = project(
        {
            "models/raw/numbers.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def numbers():
                return pa.table({"n": list(range(10))})
        """,
            "models/marts/evens.sql": "select n from numbers where n % 2 = 0",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert query(root / "warehouse.duckdb", "select count(*) from marts.evens") == [(5,)]
