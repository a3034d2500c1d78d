"""External materializations end to end: models written as Parquet, CSV or JSON files with a
view over them, through the real CLI.

Each test compares the files with the model's rows as another tool reads them (pyarrow or
Polars, never DuckDB): a twin model with the same SQL materialized as a table gives the
rows the files must hold. Partitioned external models keep one folder per partition key,
and a refresh rewrites that folder only; a failing check leaves the previous files exactly
as they were; downstream SQL and Python models read an external model by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

# 100 sales over 3 regions and 4 days; var `bump` changes every amount (a new version)
SALES = """
    select i as id, 'r' || (i % 3) as region, date '2025-01-01' + (i % 4)::int as day,
           ((i * 1.25) + {{ var('bump', 0) }})::decimal(10, 2) as amount
    from range(100) t(i)
"""
DAYS = ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04"]
DAILY = "{'daily': {'start': '2025-01-01', 'end': '2025-01-05'}}"


def teal(root: Path, *args: str, ok: bool = True):
    done = run_teal(*args, cwd=root, env={"TEAL_NOW": "2025-02-01T00:00:00"})
    if ok:
        assert done.returncode == 0, done.output
    return done


def db(root: Path) -> Path:
    return root / "warehouse.duckdb"


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def table_rows(root: Path, relation: str, columns: list[str] | None = None) -> list[dict]:
    """The model's rows, from a table twin (or any relation), as dicts."""
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    import duckdb

    con = duckdb.connect(str(db(root)), read_only=True)
    try:
        return sorted_rows(con.sql(f"select {cols} from {relation}").to_arrow_table().to_pylist())
    finally:
        con.close()


def digest(path: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``path`` (or of ``path`` itself)."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def temporaries(root: Path) -> list[str]:
    """Anything a publication leaves behind: work folders and journals."""
    found = [str(p) for p in root.rglob("*.teal-tmp")]
    found += [str(p) for p in root.glob("*.journal")]
    return found


# --------------------------------------------------------------------------- a table of files


def test_external_table_is_a_parquet_file_other_tools_read_and_a_view_in_the_warehouse(project):
    root = project(
        {
            "models/marts/sales.sql": "{{ config(materialized='external') }}\n" + SALES,
            "models/marts/sales_table.sql": "{{ config(materialized='table') }}\n" + SALES,
        }
    )
    out = teal(root, "build").stdout
    assert "files  marts.sales" in out
    file = root / "external" / "marts" / "sales.parquet"
    assert file.is_file()
    expected = table_rows(root, "marts.sales_table")
    assert len(expected) == 100
    # another tool than DuckDB reads the same rows, with the same types
    assert sorted_rows(pq.read_table(file).to_pylist()) == expected
    assert sorted_rows(pl.read_parquet(file).to_dicts()) == expected
    assert pq.read_schema(file).field("amount").type.scale == 2
    # the warehouse has a view over the file, read by name
    assert query(
        db(root), "select table_type from information_schema.tables where table_name = 'sales'"
    ) == [("VIEW",)]
    assert table_rows(root, "marts.sales") == expected
    # the publication is recorded, with where the files are
    recorded = query(
        db(root), "select model, partition_key, location, format, rows from teal.external"
    )
    assert recorded == [("sales", None, str(file), "parquet", 100)]
    listed = {m["name"]: m for m in json.loads(teal(root, "ls", "--json").stdout)}
    assert listed["sales"]["materialized"] == "external"
    assert listed["sales"]["external"]["location"] == str(file)
    assert temporaries(root) == []


def test_partition_by_and_csv_write_hive_folders_read_back_with_the_models_types(project):
    root = project(
        {
            "models/marts/sales.sql": (
                "{{ config(materialized='external', format='csv', compression='gzip', "
                "partition_by=['region']) }}\n" + SALES
            ),
            "models/marts/sales_json.sql": (
                "{{ config(materialized='external', format='json', "
                "location='{root}/json/{name}.json') }}\n" + SALES
            ),
            "models/marts/sales_table.sql": "{{ config(materialized='table') }}\n" + SALES,
        }
    )
    teal(root, "build")
    folder = root / "external" / "marts" / "sales"
    assert sorted(p.name for p in folder.iterdir()) == ["region=r0", "region=r1", "region=r2"]
    assert all((folder / d / "data_0.csv.gz").is_file() for d in ("region=r0", "region=r1"))
    expected = table_rows(root, "marts.sales_table")
    # the view restores the model's columns, order and types from text and folder names
    assert query(db(root), "describe marts.sales") == query(db(root), "describe marts.sales_table")
    assert table_rows(root, "marts.sales") == expected
    # pyarrow reads the hive folders (the region comes from the folder name)
    read = ds.dataset(folder, format="csv", partitioning="hive").to_table().to_pylist()
    assert len(read) == 100
    assert sorted(
        (r["id"], r["region"], Decimal(str(r["amount"])).quantize(Decimal("0.01"))) for r in read
    ) == sorted((r["id"], r["region"], r["amount"]) for r in expected)
    json_file = root / "external" / "json" / "sales_json.json"
    lines = pl.read_ndjson(json_file)
    assert lines.height == 100 and sorted(lines["id"].to_list()) == list(range(100))
    assert table_rows(root, "marts.sales_json") == expected


WIDE_TYPES = """
    select sum(x) as total, count(*) as n, 'a'::enum('a', 'b') as kind,
           [1, 2, 3]::integer[3] as triple, {{ var('big', 1) }}::uhugeint as big
    from (values (9007199254740993::bigint), (0::bigint)) t(x)
"""


def test_parquet_keeps_128_bit_integers_exact_and_the_view_keeps_the_models_types(project):
    """sum() of a BIGINT is a HUGEINT, which Parquet cannot hold: written as DECIMAL(38,0)
    its digits stay (as DOUBLE, 9007199254740993 became ...992), and the view gives the
    table's types back; a value past 38 digits fails the model, it is not rounded."""
    root = project(
        {
            "models/marts/wide.sql": "{{ config(materialized='external') }}\n" + WIDE_TYPES,
            "models/marts/wide_table.sql": "{{ config(materialized='table') }}\n" + WIDE_TYPES,
        }
    )
    teal(root, "build")
    assert query(db(root), "describe marts.wide") == query(db(root), "describe marts.wide_table")
    assert query(db(root), "select total, big from marts.wide") == [(9007199254740993, 1)]
    assert table_rows(root, "marts.wide") == table_rows(root, "marts.wide_table")
    done = teal(root, "build", "--vars", "{big: 340282366920938463463374607431768211455}", ok=False)
    assert done.returncode == 1
    assert "Parquet has no 128-bit integer" in done.output
    assert query(db(root), "select total, big from marts.wide") == [(9007199254740993, 1)]


# --------------------------------------------------------------------------- partitions


PARTITIONED = (
    f"{{{{ config(materialized='external', partitioned_by={DAILY}, partition_column='day') }}}}\n"
    "select * from sales where day = cast('{{ partition.start }}' as date)"
)


def partitioned_project(project, extra: dict[str, str] | None = None) -> Path:
    return project(
        {
            "models/sales.sql": "{{ config(materialized='table') }}\n" + SALES,
            "models/daily.sql": PARTITIONED,
            **(extra or {}),
        }
    )


def test_a_partitioned_external_model_keeps_a_folder_per_key_and_refreshes_one_alone(project):
    root = partitioned_project(project)
    out = teal(root, "build").stdout
    assert re.search(r"OK +files +main\.daily .*  4 partitions", out), out
    location = root / "external" / "main" / "daily"
    assert sorted(p.name for p in location.iterdir()) == DAYS
    for day in DAYS:  # each folder holds that day's rows, as Polars reads them
        got = pl.read_parquet(location / day / "data_0.parquet").to_dicts()
        want = table_rows(root, f"(select * from sales where day = date '{day}')")
        assert sorted_rows(got) == want
    before = {day: digest(location / day) for day in DAYS}
    inodes = {day: (location / day).stat().st_ino for day in DAYS}

    # a new version of the data, refreshed one partition at a time: only its folder changes
    refreshed = teal(
        root, "build", "-s", "sales+", "--partition", "2025-01-02", "--vars", "{bump: 1000}"
    ).stdout
    assert re.search(r"OK +files +main\.daily .*  partition 2025-01-02", refreshed), refreshed
    after = {day: digest(location / day) for day in DAYS}
    assert after["2025-01-02"] != before["2025-01-02"]
    for day in ("2025-01-01", "2025-01-03", "2025-01-04"):
        assert after[day] == before[day]
        assert (location / day).stat().st_ino == inodes[day]  # not even moved
    got = pl.read_parquet(location / "2025-01-02" / "data_0.parquet")
    assert got["amount"].min() >= 1000
    # the whole folder, read by pyarrow, is what the view shows: three old days, one new
    whole = sorted_rows(ds.dataset(location, format="parquet").to_table().to_pylist())
    assert whole == table_rows(root, "daily")
    assert len(whole) == 100
    assert query(db(root), "select count(*) from daily where amount >= 1000") == [(25,)]
    states = query(
        db(root),
        "select partition_key, location from teal.external "
        "where model = 'daily' order by published_at desc limit 1",
    )
    assert states == [("2025-01-02", str(location / "2025-01-02"))]

    # a full refresh rewrites every folder, in one swap
    teal(root, "build", "-s", "daily", "--full-refresh", "--vars", "{bump: 1000}")
    assert all(digest(location / day) != before[day] for day in DAYS)
    assert query(db(root), "select count(*) from daily where amount >= 1000") == [(100,)]
    assert temporaries(root) == []


def test_a_python_asset_with_the_parquet_io_manager_writes_each_partition_as_a_folder(project):
    asset = f"""
        import polars as pl
        import teal

        @teal.asset(io_manager="parquet", partitioned_by={DAILY}, partition_column="day",
                    partition_by="region")
        def py_daily(context, daily: pl.DataFrame) -> pl.DataFrame:
            # reads the external partitioned model: only this day's rows, through its view
            return daily.with_columns(pl.lit(context.partition_key).alias("key"))
    """
    root = partitioned_project(project, {"models/py_daily.py": asset})
    teal(root, "build")
    location = root / "external" / "main" / "py_daily"
    assert sorted(p.name for p in location.iterdir()) == DAYS
    assert sorted(p.name for p in (location / "2025-01-03").iterdir()) == [
        "region=r0",
        "region=r1",
        "region=r2",
    ]
    read = ds.dataset(location / "2025-01-03", format="parquet", partitioning="hive").to_table()
    assert set(read.column("key").to_pylist()) == {"2025-01-03"}
    assert read.num_rows == 25
    assert query(db(root), "select count(*), count(distinct key) from py_daily") == [(100, 4)]


# --------------------------------------------------------------------------- checks


def test_a_failing_check_leaves_the_previous_files_in_place(project):
    checked = """
        models:
          - name: sales
            columns:
              - name: amount
                tests:
                  - accepted_range: {max_value: 500}
          - name: daily
            columns:
              - name: amount
                tests:
                  - accepted_range: {max_value: 500}
    """
    root = project(
        {
            "models/sales.sql": "{{ config(materialized='external') }}\n" + SALES,
            "models/daily.sql": PARTITIONED,
            "models/after.sql": "{{ config(materialized='table') }}\nselect count(*) as n from sales",
            "models/schema.yml": checked,
        }
    )
    teal(root, "build")
    file = root / "external" / "main" / "sales.parquet"
    daily = root / "external" / "main" / "daily"
    old_file, old_daily = digest(file), digest(daily)
    old_rows = table_rows(root, "sales")
    published = query(db(root), "select count(*) from teal.external")

    # every amount now fails the check: nothing is published, downstream is skipped
    failed = teal(root, "build", "--vars", "{bump: 1000}", ok=False)
    assert failed.returncode == 1
    assert "check accepted_range_sales_amount failed: 100 failing rows" in failed.output
    assert "SKIP" in failed.output and "after" in failed.output
    assert digest(file) == old_file
    assert digest(daily) == old_daily  # each partition's folder kept too
    assert sorted_rows(pq.read_table(file).to_pylist()) == old_rows
    assert table_rows(root, "sales") == old_rows
    assert query(db(root), "select count(*) from teal.external") == published
    assert temporaries(root) == []
    # the failure is recorded like a table's
    assert query(
        db(root),
        "select status, failing_rows from teal.check_results where "
        "check_name = 'accepted_range_sales_amount' order by checked_at desc limit 1",
    ) == [("fail", 100)]


# --------------------------------------------------------------------------- readers


def test_downstream_sql_and_python_models_read_an_external_model_by_name(project):
    reader = """
        import polars as pl
        import teal

        @teal.asset
        def per_region(sales: pl.DataFrame) -> pl.DataFrame:
            return sales.group_by("region").agg(pl.col("amount").sum().alias("total")).sort("region")
    """
    root = project(
        {
            "models/lake/sales.sql": "{{ config(materialized='external') }}\n" + SALES,
            "models/marts/by_day.sql": (
                "{{ config(materialized='table') }}\n"
                "select day, count(*) as n, sum(amount) as total from sales group by day"
            ),
            "models/marts/per_region.py": reader,
            "models/marts/twin.sql": "{{ config(materialized='table') }}\n" + SALES,
        }
    )
    out = teal(root, "build").stdout
    assert "4 built" in out
    # lineage is unchanged: the readers depend on the external model
    lineage = teal(root, "lineage", "sales").stdout
    assert "by_day" in lineage and "per_region" in lineage
    assert query(db(root), "select day::varchar, n from marts.by_day order by day") == [
        (d, 25) for d in DAYS
    ]
    expected = query(db(root), "select region, sum(amount) from marts.twin group by 1 order by 1")
    assert query(db(root), "select region, total from marts.per_region order by 1") == expected


# --------------------------------------------------------------------------- configuration


def test_location_templates_and_a_targets_external_root(project):
    root = project(
        {
            "models/marts/sales.sql": (
                "{{ config(materialized='external', location='{schema}/v1/{name}.parquet') }}\n"
                + SALES
            ),
            "models/marts/fixed.sql": (
                "{{ config(materialized='external', location='"
                + "{root}/../elsewhere/{model}') }}\n"
                "select 1 as one"
            ),
        },
        config="""
            name = "roots"
            threads = 2
            [external]
            root = "lake"
            compression = "zstd"
            [targets.prod]
            external_root = "prod-lake"
        """,
    )
    teal(root, "build")
    assert (root / "lake" / "marts" / "v1" / "sales.parquet").is_file()
    assert (root / "elsewhere" / "fixed" / "data_0.parquet").is_file()
    meta = pq.ParquetFile(root / "lake" / "marts" / "v1" / "sales.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    teal(root, "build", "--target", "prod", "-s", "sales")
    assert (root / "prod-lake" / "marts" / "v1" / "sales.parquet").is_file()


def test_switching_between_a_table_and_external_files(project):
    root = project({"models/sales.sql": "{{ config(materialized='table') }}\n" + SALES})
    teal(root, "build")
    (root / "models" / "sales.sql").write_text(
        "{{ config(materialized='external') }}\n" + SALES, encoding="utf-8"
    )
    teal(root, "build")
    assert query(
        db(root), "select table_type from information_schema.tables where table_name = 'sales'"
    ) == [("VIEW",)]
    (root / "models" / "sales.sql").write_text(
        "{{ config(materialized='table') }}\n" + SALES, encoding="utf-8"
    )
    teal(root, "build")
    assert query(
        db(root),
        "select table_type, (select count(*) from sales) "
        "from information_schema.tables where table_name = 'sales'",
    ) == [("BASE TABLE", 100)]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"models/a.sql": "{{ config(materialized='external', format='avro') }}\nselect 1 as x"},
            "format='avro' is not a file format",
        ),
        (
            {
                "models/a.sql": "{{ config(materialized='external', compression='zip') }}\nselect 1 as x"
            },
            "compression='zip' is not one DuckDB writes parquet with",
        ),
        (
            {
                "models/a.sql": (
                    f"{{{{ config(materialized='external', location='a.parquet', "
                    f"partitioned_by={DAILY}, partition_column='x') }}}}\nselect 1 as x"
                )
            },
            "names one file, but the model is written in partitions",
        ),
        (
            {
                "models/a.sql": "{{ config(materialized='external', partition_by='nope') }}\nselect 1 as x"
            },
            "partition_by column 'nope' is not a column of the model",
        ),
        (
            {
                "models/a.sql": "{{ config(materialized='external', location='{root}/same') }}\nselect 1 as x",
                "models/b.sql": "{{ config(materialized='external', location='{root}/same') }}\nselect 1 as x",
            },
            "write the same location",
        ),
        (
            {
                "models/a.sql": "{{ config(materialized='external', unique_key='x') }}\nselect 1 as x"
            },
            "unique_key does not apply",
        ),
        (
            {
                "models/a.sql": "{{ config(materialized='table', location='x.parquet') }}\nselect 1 as x"
            },
            "location applies to external models",
        ),
        (
            {"models/a.sql": "{{ config(io_manager='parquet') }}\nselect 1 as x"},
            "io_manager is for Python assets",
        ),
        (
            {
                "models/a.py": (
                    "import teal\n\n@teal.asset(io_manager='parqet')\ndef a():\n    return None\n"
                )
            },
            "did you mean 'parquet'?",
        ),
    ],
)
def test_configuration_mistakes_are_errors_that_point_at_the_model(project, files, message):
    root = project(files)
    done = teal(root, "plan", ok=False)
    assert done.returncode == 2, done.output
    assert message in done.output
    assert "models/a." in done.output or "models/b." in done.output


def test_plan_and_the_build_line_say_files(project):
    root = project({"models/sales.sql": "{{ config(materialized='external') }}\n" + SALES})
    assert "write files" in teal(root, "plan").stdout
    # the project's own folders hold nothing else but the files and the warehouse
    teal(root, "build")
    assert sorted(os.listdir(root)) == sorted(
        [".teal", "external", "models", "target", "teal.toml", "warehouse.duckdb"]
    )
