"""End-to-end builds through the real CLI: relations, types, config, sources, state, commands.

Most checks share one fixture project (``shop``) built once per module; tests that change
files or break things write their own small projects.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import query, run_teal, write_project

pytestmark = pytest.mark.slow

CONFIG = """
    name = "fixture"
    threads = 2
    warehouse = "wh.duckdb"

    [vars]
    multiplier = 3
    label = "from_config"

    [defaults]
    materialized = "table"
    tags = ["everything"]

    [folders.staging]
    materialized = "view"
    tags = ["staging"]

    [folders."staging/deep"]
    materialized = "table"

    [targets.prod]
    warehouse = "prod.duckdb"

    [sources.files]
    type = "parquet"
    path = "data/{table}.parquet"
    tables = ["prices"]
"""

SOURCES_YML = """
    sources:
      - name: csvsrc
        type: csv
        path: ../data/{table}.csv
        tables: [people]
      - name: jsonsrc
        type: json
        path: ../data/{table}.json
        tables: [tags]
      - name: ext
        type: duckdb
        path: ../ext.duckdb
        tables: [items]
      - name: landing
        type: warehouse
        tables: [events]

    models:
      - name: yaml_configured
        config: {materialized: view, alias: from_yaml}
        tags: [yaml]
      - name: in_pandas
        config: {alias: pandas_rows}
"""

ASSETS_PY = '''
    """Python assets: one per input annotation kind, each returning a different kind."""
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    import teal


    def _expect(value, kind):
        assert isinstance(value, kind), f"got {type(value)!r}, wanted {kind!r}"


    @teal.asset
    def numbers(context: teal.AssetContext):
        """Returns a pyarrow.Table."""
        context.log.info("numbers in run %s", context.run_id)
        assert context.asset_name == "numbers"
        return pa.table({"n": pa.array(range(1, 11), pa.int64())})


    @teal.asset
    def in_default(numbers):
        _expect(numbers, pa.Table)
        return pa.table({"total": pa.array([sum(numbers.column("n").to_pylist())], pa.int64())})


    @teal.asset
    def in_arrow(numbers: pa.Table) -> pa.RecordBatchReader:
        _expect(numbers, pa.Table)
        small = pa.table({"n": numbers.column("n").cast(pa.int32()),
                          "name": [f"n{v}" for v in numbers.column("n").to_pylist()]})
        return pa.RecordBatchReader.from_batches(small.schema, small.to_batches(max_chunksize=3))


    @teal.asset
    def in_reader(numbers: pa.RecordBatchReader) -> pl.DataFrame:
        _expect(numbers, pa.RecordBatchReader)
        table = numbers.read_all()
        return pl.from_arrow(table).with_columns(half=pl.col("n") / 2)


    @teal.asset
    def in_polars(numbers: pl.DataFrame) -> pl.LazyFrame:
        _expect(numbers, pl.DataFrame)
        return numbers.lazy().filter(pl.col("n") <= 4).with_columns(flag=pl.lit(True))


    @teal.asset
    def in_lazy(numbers: pl.LazyFrame) -> pd.DataFrame:
        _expect(numbers, pl.LazyFrame)
        frame = numbers.filter(pl.col("n") > 7).collect().to_pandas()
        frame["ratio"] = frame["n"].astype("float64") / 10.0
        return frame


    @teal.asset
    def in_pandas(numbers: pd.DataFrame) -> pa.Table:
        _expect(numbers, pd.DataFrame)
        return pa.table({"rows": pa.array([len(numbers)], pa.int64())})


    @teal.asset
    def in_duckdb(numbers: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
        _expect(numbers, duckdb.DuckDBPyRelation)
        return numbers.filter("n % 2 = 0").project("n, n * n AS sq")


    @teal.asset
    def py_reads_sql(stg_numbers: pl.DataFrame, context) -> pl.DataFrame:
        """A Python model downstream of a SQL view."""
        _expect(stg_numbers, pl.DataFrame)
        return stg_numbers.select(
            pl.col("scaled").sum().alias("scaled_sum"),
            pl.lit(str(context.vars["label"])).alias("label"),
        )


    @teal.asset
    def py_reads_ephemeral(big_numbers: pa.Table) -> pa.Table:
        return big_numbers


    @teal.asset
    def py_reads_source(people: pl.DataFrame) -> pl.DataFrame:
        return people.select(pl.col("name").str.to_uppercase().alias("upper_name"))


    @teal.asset(deps=["summary"])
    def after_summary(context) -> pa.Table:
        return pa.table({"ok": [True]})


    @teal.asset(schema="reporting")
    def py_reads_duckdb_source(items: pa.Table, files__prices: pl.DataFrame) -> pl.DataFrame:
        """Sources as parameters: by table name, or <source>__<table>."""
        return pl.from_arrow(items).join(files__prices, on="person_id").select("item", "price")
'''

FILES = {
    "models/sources.yml": SOURCES_YML,
    "models/raw/assets.py": ASSETS_PY,
    "models/staging/stg_numbers.sql": """
        -- SQL reading a Python model; vars from config or --vars
        select n, n * {{ var('multiplier') }} as scaled, '{{ var("label") }}' as label
        from numbers
    """,
    "models/staging/big_numbers.sql": """
        {{ config(materialized='ephemeral') }}
        select n from stg_numbers where n > 5
    """,
    "models/marts/summary.sql": """
        select count(*) as cnt, sum(n) as total from big_numbers
    """,
    "models/marts/renamed.sql": """
        {{ config(schema='reporting', alias='number_report', materialized='view') }}
        select n, scaled from stg_numbers where n <= 3
    """,
    "models/marts/sql_reads_python.sql": """
        select d.n, d.sq, r.name
        from in_duckdb as d
        join in_arrow as r using (n)
        order by d.n
    """,
    "models/staging/deep/deep_table.sql": "select n from stg_numbers where n = 1",
    "models/other/yaml_configured.sql": "select 'y' as y",
    "models/src/src_people.sql": "select * from {{ source('csvsrc', 'people') }}",
    "models/src/src_prices.sql": "select * from files.prices",
    "models/src/src_tags.sql": "select * from jsonsrc.tags",
    "models/src/src_items.sql": "select * from ext.items",
    "models/src/src_events.sql": "select * from landing.events",
}

PYTHON_MODELS = [
    "numbers",
    "in_default",
    "in_arrow",
    "in_reader",
    "in_polars",
    "in_lazy",
    "in_pandas",
    "in_duckdb",
    "py_reads_sql",
    "py_reads_ephemeral",
    "py_reads_source",
    "after_summary",
    "py_reads_duckdb_source",
]
SQL_MODELS = [
    "stg_numbers",
    "big_numbers",
    "summary",
    "renamed",
    "sql_reads_python",
    "src_people",
    "src_prices",
    "src_tags",
    "src_items",
    "src_events",
    "deep_table",
    "yaml_configured",
]
DOWNSTREAM_OF_STG = (
    "big_numbers",
    "summary",
    "renamed",
    "py_reads_sql",
    "after_summary",
    "py_reads_ephemeral",
    "deep_table",
)
BUILT_MODELS = sorted(set(PYTHON_MODELS + SQL_MODELS) - {"big_numbers"})


def make_shop(root: Path) -> Path:
    """Write the fixture project, its source files, the attached DuckDB file and the
    warehouse source table that must exist before a build."""
    write_project(root, FILES, CONFIG)
    data = root / "data"
    data.mkdir()
    (data / "people.csv").write_text("person_id,name\n1,Ann\n2,Bob\n3,Cy\n", encoding="utf-8")
    (data / "tags.json").write_text(
        '[{"person_id": 1, "tag": "vip"}, {"person_id": 3, "tag": "new"}]', encoding="utf-8"
    )
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array([1, 2, 3], pa.int16()),
                "price": pa.array([1.5, 2.5, 3.5], pa.float32()),
            }
        ),
        data / "prices.parquet",
    )
    con = duckdb.connect(str(root / "ext.duckdb"))
    con.execute("create table items (person_id integer, item varchar, day date)")
    con.execute(
        "insert into items values (1, 'pen', date '2025-01-02'), (2, 'cup', date '2025-02-03')"
    )
    con.close()
    seed_warehouse(root / "wh.duckdb")
    return root


def seed_warehouse(path: Path) -> None:
    """The ``landing.events`` table a `type: warehouse` source reads (loaded by someone else)."""
    con = duckdb.connect(str(path))
    con.execute("create schema landing")
    con.execute("create table landing.events (person_id integer, event varchar)")
    con.execute("insert into landing.events values (1, 'login'), (2, 'login'), (2, 'buy')")
    con.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = make_shop(tmp_path_factory.mktemp("shop") / "proj")
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    # later tests run other commands in this project: keep this build's run results
    done.run_results = json.loads((root / "target" / "run_results.json").read_text())
    return root, done


def columns(db: Path, relation: str) -> list[tuple[str, str]]:
    schema, name = relation.split(".")
    return [
        (c, t)
        for c, t in query(
            db,
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position",
        )
    ]


def relation_kinds(db: Path) -> dict[str, str]:
    return {
        f"{s}.{n}": t
        for s, n, t in query(
            db,
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_catalog = current_database()",
        )
    }


# -- one build of the fixture project -----------------------------------------------------


def test_sql_views_tables_ephemeral_and_config_overrides(shop):
    root, done = shop
    db = root / "wh.duckdb"
    kinds = relation_kinds(db)
    # folder default (staging -> view) beats [defaults] (table)
    assert kinds["staging.stg_numbers"] == "VIEW"
    # [defaults] apply where no folder config exists
    assert kinds["marts.summary"] == "BASE TABLE"
    assert kinds["src.src_people"] == "BASE TABLE"
    # the model's own config beats folder and defaults; schema and alias override the relation
    assert kinds["reporting.number_report"] == "VIEW"
    assert "marts.renamed" not in kinds
    # ephemeral: no relation anywhere, and it was inlined into its consumer
    assert not [r for r in kinds if r.endswith(".big_numbers")]
    assert query(db, "select cnt, total from marts.summary") == [(5, 6 + 7 + 8 + 9 + 10)]
    assert query(db, "select * from reporting.number_report order by n") == [(1, 3), (2, 6), (3, 9)]
    # no staging tables left behind by the swaps
    assert not [r for r in kinds if "__teal_new" in r]
    # an inner folder's config beats the outer folder's; schema stays the top folder
    assert kinds["staging.deep_table"] == "BASE TABLE"
    assert query(db, "select n from staging.deep_table") == [(1,)]
    # YAML `models:` config beats folder defaults
    assert kinds["other.from_yaml"] == "VIEW"
    assert "other.yaml_configured" not in kinds
    # python assets are tables in their folder's schema, unless configured otherwise
    assert kinds["raw.pandas_rows"] == "BASE TABLE"
    assert kinds["reporting.py_reads_duckdb_source"] == "BASE TABLE"
    for name in set(PYTHON_MODELS) - {"in_pandas", "py_reads_duckdb_source"}:
        assert kinds[f"raw.{name}"] == "BASE TABLE", name
    assert "numbers in run" in done.stdout


def test_vars_from_config_reach_sql_and_python(shop):
    root, _ = shop
    db = root / "wh.duckdb"
    assert query(db, "select n, scaled, label from staging.stg_numbers where n = 2") == [
        (2, 6, "from_config")
    ]
    assert query(db, "select scaled_sum, label from raw.py_reads_sql") == [(165, "from_config")]
    assert columns(db, "staging.stg_numbers") == [
        ("n", "BIGINT"),
        ("scaled", "BIGINT"),
        ("label", "VARCHAR"),
    ]


def test_every_python_input_and_return_kind(shop):
    root, _ = shop
    db = root / "wh.duckdb"
    # pyarrow.Table out
    assert columns(db, "raw.numbers") == [("n", "BIGINT")]
    assert query(db, "select count(*), sum(n) from raw.numbers") == [(10, 55)]
    # default annotation (pyarrow.Table) in
    assert query(db, "select total from raw.in_default") == [(55,)]
    # RecordBatchReader out (streamed in several batches)
    assert columns(db, "raw.in_arrow") == [("n", "INTEGER"), ("name", "VARCHAR")]
    assert query(db, "select count(*), max(name) from raw.in_arrow") == [(10, "n9")]
    # RecordBatchReader in, polars.DataFrame out
    assert columns(db, "raw.in_reader") == [("n", "BIGINT"), ("half", "DOUBLE")]
    assert query(db, "select sum(half) from raw.in_reader") == [(27.5,)]
    # polars.DataFrame in, LazyFrame out
    assert columns(db, "raw.in_polars") == [("n", "BIGINT"), ("flag", "BOOLEAN")]
    assert query(db, "select n, flag from raw.in_polars order by n") == [
        (1, True),
        (2, True),
        (3, True),
        (4, True),
    ]
    # LazyFrame in, pandas out
    assert columns(db, "raw.in_lazy") == [("n", "BIGINT"), ("ratio", "DOUBLE")]
    assert query(db, "select n, ratio from raw.in_lazy order by n") == [
        (8, 0.8),
        (9, 0.9),
        (10, 1.0),
    ]
    # pandas in
    assert query(db, "select rows from raw.pandas_rows") == [(10,)]
    # DuckDB relation in and out
    assert columns(db, "raw.in_duckdb") == [("n", "BIGINT"), ("sq", "BIGINT")]
    assert query(db, "select n, sq from raw.in_duckdb order by n") == [
        (2, 4),
        (4, 16),
        (6, 36),
        (8, 64),
        (10, 100),
    ]


def test_sql_reads_python_and_python_reads_sql_and_ephemeral(shop):
    root, _ = shop
    db = root / "wh.duckdb"
    assert query(db, "select n, sq, name from marts.sql_reads_python") == [
        (2, 4, "n2"),
        (4, 16, "n4"),
        (6, 36, "n6"),
        (8, 64, "n8"),
        (10, 100, "n10"),
    ]
    assert query(db, "select n from raw.py_reads_ephemeral order by n") == [
        (6,),
        (7,),
        (8,),
        (9,),
        (10,),
    ]
    assert query(db, "select ok from raw.after_summary") == [(True,)]


def test_sources_csv_parquet_json_duckdb_and_warehouse(shop):
    root, _ = shop
    db = root / "wh.duckdb"
    assert columns(db, "src.src_people") == [("person_id", "BIGINT"), ("name", "VARCHAR")]
    assert query(db, "select * from src.src_people order by person_id") == [
        (1, "Ann"),
        (2, "Bob"),
        (3, "Cy"),
    ]
    assert columns(db, "src.src_prices") == [("person_id", "SMALLINT"), ("price", "FLOAT")]
    assert query(db, "select * from src.src_prices order by person_id") == [
        (1, 1.5),
        (2, 2.5),
        (3, 3.5),
    ]
    assert query(db, "select person_id, tag from src.src_tags order by person_id") == [
        (1, "vip"),
        (3, "new"),
    ]
    assert columns(db, "src.src_items") == [
        ("person_id", "INTEGER"),
        ("item", "VARCHAR"),
        ("day", "DATE"),
    ]
    assert query(
        db, "select person_id, item, cast(day as varchar) from src.src_items order by person_id"
    ) == [(1, "pen", "2025-01-02"), (2, "cup", "2025-02-03")]
    assert query(db, "select count(*) from src.src_events") == [(3,)]
    assert query(db, "select upper_name from raw.py_reads_source order by 1") == [
        ("ANN",),
        ("BOB",),
        ("CY",),
    ]
    assert columns(db, "reporting.py_reads_duckdb_source") == [
        ("item", "VARCHAR"),
        ("price", "FLOAT"),
    ]
    assert query(db, "select * from reporting.py_reads_duckdb_source order by item") == [
        ("cup", 2.5),
        ("pen", 1.5),
    ]


def test_state_tables_record_the_build(shop):
    root, done = shop
    db = root / "wh.duckdb"
    runs = query(
        db, "select run_id, command, status, selected, succeeded, failed, skipped from teal.runs"
    )
    assert len(runs) == 1
    run_id, command, status, selected, succeeded, failed, skipped = runs[0]
    n = len(BUILT_MODELS)
    assert (command, status, selected, succeeded, failed, skipped) == (
        "build",
        "success",
        n,
        n,
        0,
        0,
    )
    builds = query(
        db,
        "select model, relation, materialization, sql_hash, status, rows, run_id "
        "from teal.builds order by model",
    )
    assert [b[0] for b in builds] == BUILT_MODELS
    by_model = {b[0]: b for b in builds}
    for model, _rel, _mat, sql_hash, st, _rows, rid in builds:
        assert st == "success" and rid == run_id and sql_hash, model
    assert by_model["summary"][1:3] == ("marts.summary", "table")
    assert by_model["summary"][5] == 1
    assert by_model["numbers"][5] == 10
    assert by_model["numbers"][2] == "python"
    assert by_model["renamed"][1:3] == ("reporting.number_report", "view")
    assert by_model["stg_numbers"][2] == "view"
    state = query(db, "select model, run_id, rows, sql_hash from teal.model_state order by model")
    assert [(m, rid, rows, h) for m, rid, rows, h in state] == [
        (b[0], run_id, b[5], b[3]) for b in builds
    ]
    results = done.run_results
    assert results["command"] == "build" and results["run_id"] == run_id
    assert results["success"] is True
    assert {r["model"]: r["rows"] for r in results["results"]}["numbers"] == 10


def test_state_hash_matches_compiled_manifest(shop):
    root, _ = shop
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.output
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    models = manifest["models"]
    assert sorted(models) == sorted(PYTHON_MODELS + SQL_MODELS)
    assert models["summary"]["upstreams"] == ["big_numbers"]
    assert models["big_numbers"]["upstreams"] == ["stg_numbers"]
    assert models["big_numbers"]["relation"] is None
    assert models["big_numbers"]["materialized"] == "ephemeral"
    assert sorted(models["sql_reads_python"]["upstreams"]) == ["in_arrow", "in_duckdb"]
    assert models["in_lazy"]["upstreams"] == ["numbers"]
    assert models["after_summary"]["upstreams"] == ["summary"]
    assert models["src_people"]["sources"] == ["csvsrc.people"]
    assert models["renamed"]["config"]["schema"] == "reporting"
    assert models["renamed"]["config"]["alias"] == "number_report"
    assert models["renamed"]["relation"] == "reporting.number_report"
    assert models["stg_numbers"]["config"]["materialized"] == "view"
    assert set(models["stg_numbers"]["tags"]) == {"everything", "staging"}
    assert models["summary"]["tags"] == ["everything"]
    assert set(models["yaml_configured"]["tags"]) == {"everything", "yaml"}
    assert models["yaml_configured"]["relation"] == "other.from_yaml"
    assert models["in_pandas"]["relation"] == "raw.pandas_rows"
    assert sorted(models["py_reads_duckdb_source"]["sources"]) == ["ext.items", "files.prices"]
    assert "stg_numbers" in models["numbers"]["downstreams"]
    built = dict(query(root / "wh.duckdb", "select model, sql_hash from teal.model_state"))
    for name, hashed in built.items():
        assert models[name]["sql_hash"] == hashed, name
    for name, entry in models.items():
        assert entry["sql_hash"], name
    compiled = root / "target" / "compiled" / "models"
    summary_sql = (compiled / "marts" / "summary.sql").read_text()
    # the ephemeral is inlined as a CTE, never read as a relation
    assert "WITH" in summary_sql.upper() and '"staging"."big_numbers"' not in summary_sql
    stg_sql = (compiled / "staging" / "stg_numbers.sql").read_text()
    assert '"raw"."numbers"' in stg_sql and "from_config" in stg_sql
    assert (compiled / "staging" / "big_numbers.sql").exists()
    assert not (compiled / "raw").exists()  # Python models have no compiled SQL


def test_ls_json_and_names_with_select(shop):
    root, _ = shop
    done = run_teal("ls", "--json", "--select", "marts", cwd=root)
    assert done.returncode == 0, done.output
    listed = json.loads(done.stdout)
    assert sorted(m["name"] for m in listed) == ["renamed", "sql_reads_python", "summary"]
    assert {m["name"]: m["relation"] for m in listed}["renamed"] == "reporting.number_report"
    done = run_teal("ls", "-o", "name", "--select", "+summary", cwd=root)
    assert done.returncode == 0, done.output
    # build order: every model after what it reads
    assert done.stdout.split() == ["numbers", "stg_numbers", "big_numbers", "summary"]
    done = run_teal("ls", "-o", "name", "--select", "tag:staging", cwd=root)
    # folder tags apply to nested folders too
    assert sorted(done.stdout.split()) == ["big_numbers", "deep_table", "stg_numbers"]


def test_lineage_shows_upstream_and_downstream(shop):
    root, _ = shop
    done = run_teal("lineage", "stg_numbers", cwd=root)
    assert done.returncode == 0, done.output
    up, _, down = done.stdout.partition("downstream")
    assert "numbers" in up
    for name in DOWNSTREAM_OF_STG:
        assert name in down, name
        assert name not in up, name
    assert "in_arrow" not in done.stdout
    done = run_teal("lineage", "stg_numbers", "--json", cwd=root)
    data = json.loads(done.stdout)
    assert data["upstreams"] == ["numbers"]
    assert data["ancestors"] == ["numbers"]
    assert set(data["descendants"]) == set(DOWNSTREAM_OF_STG)


def test_cli_vars_warehouse_and_target_overrides(shop):
    root, _ = shop
    done = run_teal(
        "build",
        "--select",
        "+stg_numbers +py_reads_sql",
        "--warehouse",
        "other.duckdb",
        "--vars",
        "{label: from_cli, multiplier: 10}",
        cwd=root,
    )
    assert done.returncode == 0, done.output
    other = root / "other.duckdb"
    assert query(other, "select n, scaled, label from staging.stg_numbers where n = 2") == [
        (2, 20, "from_cli")
    ]
    assert query(other, "select scaled_sum, label from raw.py_reads_sql") == [(550, "from_cli")]
    # only the selection was built there
    assert sorted(r for r in relation_kinds(other) if not r.startswith("teal.")) == sorted(
        ["raw.numbers", "raw.py_reads_sql", "staging.stg_numbers"]
    )
    # the configured warehouse is untouched
    assert query(root / "wh.duckdb", "select label from staging.stg_numbers limit 1") == [
        ("from_config",)
    ]
    done = run_teal("run", "--select", "+stg_numbers", "--target", "prod", cwd=root)
    assert done.returncode == 0, done.output
    prod = root / "prod.duckdb"
    assert query(prod, "select count(*), max(label) from staging.stg_numbers") == [
        (10, "from_config")
    ]
    assert query(prod, "select command, status, selected from teal.runs") == [("run", "success", 2)]
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert results["command"] == "run"
    done = run_teal("build", "--target", "nope", cwd=root)
    assert done.returncode == 2 and "prod" in done.output


def test_threads_do_not_change_the_result(shop):
    root, parallel = shop
    assert "with 2 threads" in parallel.stdout
    seed_warehouse(root / "single.duckdb")
    done = run_teal("build", "--threads", "1", "--warehouse", "single.duckdb", cwd=root)
    assert done.returncode == 0, done.output
    assert "with 1 thread " in done.stdout
    con_a = duckdb.connect(str(root / "wh.duckdb"), read_only=True)
    try:
        con_a.execute(f"attach '{root / 'single.duckdb'}' as single (read_only)")
        built = {
            r
            for r in relation_kinds(root / "single.duckdb")
            if not r.startswith(("teal.", "landing."))
        }
        assert built == {
            r for r in relation_kinds(root / "wh.duckdb") if not r.startswith(("teal.", "landing."))
        }
        assert len(built) == len(BUILT_MODELS)
        for rel in sorted(built):
            schema, name = rel.split(".")
            a = con_a.execute(f'select * from "{schema}"."{name}" order by all').fetchall()
            b = con_a.execute(f'select * from single."{schema}"."{name}" order by all').fetchall()
            assert a == b, rel
    finally:
        con_a.close()


# -- builds that change the project ----------------------------------------------------


def test_failure_skips_descendants_and_independent_models_build(project):
    root = project(
        {
            "models/raw/bad.py": """
            import teal

            @teal.asset
            def bad():
                raise ValueError("the source system is down")
        """,
            "models/raw/good.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def good():
                return pa.table({"x": [1, 2, 3]})
        """,
            "models/marts/after_bad.sql": "select * from bad",
            "models/marts/after_after_bad.sql": "select * from after_bad",
            "models/marts/mixed.sql": "select * from good cross join after_bad",
            "models/marts/after_good.sql": "select sum(x) as s from good",
            "models/marts/broken_cast.sql": "select cast('not a number' as integer) as v",
            "models/marts/after_broken.sql": "select v from broken_cast",
        },
        config='name = "f"\nthreads = 2\n[folders.marts]\nmaterialized = "table"\n',
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "the source system is down" in done.output
    db = root / "warehouse.duckdb"
    assert query(db, "select s from marts.after_good") == [(6,)]
    assert query(db, "select count(*) from raw.good") == [(3,)]
    kinds = relation_kinds(db)
    for missing in (
        "raw.bad",
        "marts.after_bad",
        "marts.after_after_bad",
        "marts.mixed",
        "marts.broken_cast",
        "marts.after_broken",
    ):
        assert missing not in kinds, missing
    results = json.loads((root / "target" / "run_results.json").read_text())
    status = {r["model"]: r["status"] for r in results["results"]}
    assert status == {
        "bad": "error",
        "good": "success",
        "after_bad": "skipped",
        "after_after_bad": "skipped",
        "mixed": "skipped",
        "after_good": "success",
        "broken_cast": "error",
        "after_broken": "skipped",
    }
    assert results["success"] is False
    messages = {r["model"]: r["message"] for r in results["results"]}
    assert "bad" in messages["after_bad"]
    errors = query(
        db, "select model, message from teal.builds where status = 'error' order by model"
    )
    assert [e[0] for e in errors] == ["bad", "broken_cast"]
    assert "the source system is down" in errors[0][1]
    assert query(db, "select status, succeeded, failed, skipped from teal.runs") == [
        ("error", 2, 2, 4)
    ]
    assert sorted(m for (m,) in query(db, "select model from teal.model_state")) == [
        "after_good",
        "good",
    ]


def test_materialization_changes_and_rebuild_replaces_rows(project):
    root = project(
        {
            "models/marts/flip.sql": "{{ config(materialized='table') }}\n"
            "select range as v from range(3)",
            "models/marts/reader.sql": "{{ config(materialized='view') }}\n"
            "select count(*) as c from flip",
        }
    )
    db = root / "warehouse.duckdb"
    flip = root / "models" / "marts" / "flip.sql"

    def build_and_kinds() -> dict[str, str]:
        done = run_teal("build", cwd=root)
        assert done.returncode == 0, done.output
        return relation_kinds(db)

    assert build_and_kinds()["marts.flip"] == "BASE TABLE"
    assert build_and_kinds()["marts.flip"] == "BASE TABLE"
    # rebuilding replaces the contents; it does not append
    assert query(db, "select count(*) from marts.flip") == [(3,)]
    assert query(db, "select c from marts.reader") == [(3,)]
    flip.write_text("{{ config(materialized='view') }}\nselect range as v from range(5)")
    kinds = build_and_kinds()
    assert kinds["marts.flip"] == "VIEW"
    assert query(db, "select c from marts.reader") == [(5,)]
    flip.write_text("{{ config(materialized='table') }}\nselect range + 100 as v from range(2)")
    kinds = build_and_kinds()
    assert kinds["marts.flip"] == "BASE TABLE"
    assert query(db, "select v from marts.flip order by v") == [(100,), (101,)]
    assert query(db, "select c from marts.reader") == [(2,)]
    assert not [r for r in kinds if "__teal_new" in r]
    history = query(
        db,
        "select materialization, rows from teal.builds where model = 'flip' order by finished_at",
    )
    assert history == [("table", 3), ("table", 3), ("view", None), ("table", 2)]
    assert query(db, "select count(*) from teal.runs") == [(4,)]
    assert query(db, "select materialization, rows from teal.model_state where model = 'flip'") == [
        ("table", 2)
    ]
    # DuckDB names are case-insensitive: a relation whose name only changes case is replaced
    flip.write_text("{{ config(materialized='table', alias='FLIP') }}\nselect 7 as v")
    build_and_kinds()
    flip.write_text("{{ config(materialized='view', alias='Flip') }}\nselect 8 as v")
    kinds = build_and_kinds()
    assert [(r, k) for r, k in kinds.items() if r.lower() == "marts.flip"] == [
        ("marts.Flip", "VIEW")
    ]
    assert query(db, "select v from marts.flip") == [(8,)]
    assert query(
        db, "select materialization, rows, relation from teal.model_state where model = 'flip'"
    ) == [("view", None, "marts.Flip")]


@pytest.mark.slow
def test_a_pivot_model_counts_its_rows(project):
    """DuckDB runs a PIVOT as several statements and its CREATE TABLE AS reports no count:
    the rows are counted from the table (they were reported and recorded as 0)."""
    root = project(
        {
            "models/orders.sql": "select i as id, i % 3 as k, i as v from range(100) t(i)",
            "models/pivoted.sql": "select * from (pivot orders on k using sum(v) group by id)",
            "models/bare.sql": "pivot orders on k using sum(v) group by id",
        },
        config='name = "p"\n[defaults]\nmaterialized = "table"\n',
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output  # a bare PIVOT statement is not a query
    assert "models/bare.sql:1:1: a SQL model must be a SELECT query, found PIVOT" in done.stderr
    assert "hint: DuckDB's PIVOT statement is a query once wrapped" in done.stderr
    (root / "models" / "bare.sql").unlink()
    done = run_teal("build", "--json", cwd=root)
    assert done.returncode == 0, done.output
    rows = {r["model"]: r["rows"] for r in json.loads(done.stdout)["results"]}
    assert rows == {"orders": 100, "pivoted": 100}
    assert query(root / "warehouse.duckdb", "select count(*) from pivoted") == [(100,)]
