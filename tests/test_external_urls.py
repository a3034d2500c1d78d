"""External locations on object storage, without the network.

A URL location (``s3://``, ``gs://``, ... and ``file://``) is written the way object storage
is: no rename exists there, so the rows are staged in a temporary table, audited, then
copied to their place by DuckDB's COPY (httpfs reads and writes the URLs). ``file://`` takes
that same path on the local disk, so it is tested end to end here; for ``s3://`` the
statements the engine sends are recorded instead of run. Credentials come from
``{ env = "NAME" }`` (``teal.EnvVar``) in a DuckDB secret and never appear in a message,
the run store or the warehouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from teal.compiler.external import ExternalDefaults, is_url, key_path, settle_external
from teal.compiler.typed_fields import EnvVar
from teal.warehouse.duckdb.secrets import redactor, secret_sql
from tests.conftest import query, run_teal

# -- URL handling (fast, in process) ------------------------------------------------------


def test_locations_under_an_object_storage_root():
    root = ExternalDefaults("s3://bucket/lake/prod", "parquet", "zstd")

    def settle(conf, partitioned=False):
        return settle_external(
            {"materialized": "external", **conf},
            root,
            schema="marts",
            name="orders",
            model="orders",
            path="m.sql",
            partitioned=partitioned,
        )

    plain = settle({})
    assert (plain.location, plain.single_file, plain.remote) == (
        "s3://bucket/lake/prod/marts/orders.parquet",
        True,
        True,
    )
    assert settle({}, partitioned=True).location == "s3://bucket/lake/prod/marts/orders"
    assert settle({"location": "v2/{name}/"}).location == "s3://bucket/lake/prod/v2/orders"
    assert settle({"location": "gs://other/{schema}.csv", "format": "csv"}).location == (
        "gs://other/marts.csv"
    )
    assert settle({"format": "json", "compression": "gzip"}).location.endswith("orders.json.gz")
    assert [is_url(u) for u in ("s3://b/k", "az://c/p", "file:///tmp/x", "/tmp/x", "x/y")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    # a key's folder never reads as a hive column, a glob or a second level
    assert key_path("2025-10-26-02:00+01:00") == "2025-10-26-02%3A00+01%3A00"
    assert key_path("2025-03|Southern Europe") == "2025-03/Southern Europe"
    assert key_path("a=b*") == "a%3Db%2A"


def test_a_secret_is_created_from_env_vars_and_its_values_never_shown():
    env = {"LAKE_KEY": "AKIAEXAMPLEKEY", "LAKE_SECRET": "wJalrXUtnFEMI/K7MDENG"}
    options = {
        "type": "s3",
        "key_id": EnvVar("LAKE_KEY"),
        "secret": EnvVar("LAKE_SECRET"),
        "region": "eu-central-1",
        "endpoint": "minio.internal:9000",
        "url_style": "path",
        "use_ssl": False,
        "scope": ("s3://lake", "s3://archive"),
    }
    sql, hidden = secret_sql("lake", options, env)
    assert sql == (
        "CREATE OR REPLACE TEMPORARY SECRET lake (TYPE s3, KEY_ID 'AKIAEXAMPLEKEY', "
        "SECRET 'wJalrXUtnFEMI/K7MDENG', REGION 'eu-central-1', ENDPOINT 'minio.internal:9000', "
        "URL_STYLE path, USE_SSL false, SCOPE ['s3://lake', 's3://archive'])"
    )
    shown = redactor(hidden)(f"HTTP 403: <AWSAccessKeyId>{env['LAKE_KEY']}</AWSAccessKeyId>")
    assert env["LAKE_KEY"] not in shown and "<secret 'lake' value>" in shown
    from teal.compiler.errors import WarehouseError

    with pytest.raises(WarehouseError, match="LAKE_SECRET is not set") as raised:
        secret_sql("lake", options, {"LAKE_KEY": env["LAKE_KEY"]})
    assert env["LAKE_KEY"] not in str(raised.value)


class Recording:
    """A DuckDB cursor that records every statement about an ``s3://`` URL instead of
    running it (there is no network), and runs everything else."""

    def __init__(self, real) -> None:
        self.real = real
        self.sent: list[str] = []

    def execute(self, sql, params=None):
        if "s3://" in sql:
            self.sent.append(sql)
            return self.real.execute("SELECT 1")  # a row count, a file count
        if sql.startswith("COMMENT ON VIEW"):  # of the view recorded, never created
            return self.real.execute("SELECT 1")
        return self.real.execute(sql) if params is None else self.real.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_object_storage_statements_stage_audit_and_copy_into_place(tmp_path):
    from teal.warehouse.duckdb import DuckDBEngine
    from teal.warehouse.duckdb.cursor import DuckDBCursor
    from teal.warehouse.engine import BuildTarget

    engine = DuckDBEngine(tmp_path / "w.duckdb")
    engine.ensure_schemas({"marts"})
    recording = Recording(engine.conn.cursor())
    cur = DuckDBCursor(recording, tmp_path / "journal")
    audited: list[str] = []

    def audit(c, relation_sql):
        audited.append(relation_sql)
        assert not recording.sent  # the rows are audited before anything is written

    def target(name, **kw):
        spec = settle_external(
            {"materialized": "external", **kw},
            ExternalDefaults("s3://lake/prod", "parquet", "zstd"),
            schema="marts",
            name=name,
            model=name,
            path="m.sql",
            partitioned="partitioned" in name,
        )
        return BuildTarget(name, "marts", name, "external", "h", "r1", external=spec)

    built = cur.build_table(target("orders"), "SELECT 1 AS id, 'a' AS grp", audit)
    assert built.rows == 1 and audited == ['"__teal_stage_orders"']
    assert recording.sent[0] == (
        "COPY (SELECT * FROM \"__teal_stage_orders\") TO 's3://lake/prod/marts/orders.parquet' "
        "WITH (FORMAT parquet, COMPRESSION zstd)"
    )
    # is a file there (the view reads nothing otherwise), then the view over it
    assert recording.sent[1] == "SELECT count(*) FROM glob('s3://lake/prod/marts/orders.parquet')"
    assert recording.sent[2].startswith('CREATE OR REPLACE VIEW "marts"."orders" AS')
    assert (
        "read_parquet('s3://lake/prod/marts/orders.parquet', hive_partitioning = false)"
        in (recording.sent[2])
    )
    recording.sent.clear()
    cur.replace_partition(
        target("partitioned", partition_by="grp"),
        "2025-01-05-13:00",
        "SELECT 1 AS id, 'a' AS grp",
        "",
    )
    assert recording.sent[0] == (
        'COPY (SELECT * FROM "__teal_stage_partitioned") '
        "TO 's3://lake/prod/marts/partitioned/2025-01-05-13%3A00' WITH (FORMAT parquet, "
        'COMPRESSION zstd, PARTITION_BY ("grp"), OVERWRITE_OR_IGNORE true, '
        "FILENAME_PATTERN 'data_{i}', FILE_EXTENSION 'parquet')"
    )
    assert "glob('s3://lake/prod/marts/partitioned/**/*.parquet')" in recording.sent[1]
    engine.close()
    assert query(tmp_path / "w.duckdb", "select location from teal.external order by 1") == [
        ("s3://lake/prod/marts/orders.parquet",),
        ("s3://lake/prod/marts/partitioned/2025-01-05-13%3A00",),
    ]
    assert not list((tmp_path / "journal").iterdir())  # nothing left to recover


# -- file:// end to end, and a kill mid-copy (slow: subprocesses) -------------------------

DAILY = """
    {{ config(materialized='external', partitioned_by={'daily': {'start': '2025-01-01',
       'end': '2025-01-04'}}, partition_column='day', partition_by='k') }}
    select cast('{{ partition.start }}' as date) as day, i % 3 as k, i + {{ var('bump', 0) }} as n
    from range(30) t(i)
"""

DIE_IN_COPY = """
import os, sys
import teal
import teal.warehouse.duckdb.external as x

write = x.write_files
def dying(cur, spec, select_sql, where, *rest):
    if where.endswith("2025-01-02"):
        os._exit(137)
    return write(cur, spec, select_sql, where, *rest)
x.write_files = dying
teal.build(sys.argv[1], vars={"bump": 100}, threads=1)
"""


@pytest.mark.slow
def test_a_file_url_takes_the_object_storage_path_and_a_kill_mid_copy_is_rebuilt(project, tmp_path):
    lake = tmp_path / "lake"
    root = project(
        {"models/daily.sql": DAILY},
        config=f'name = "u"\nthreads = 1\n[external]\nroot = "file://{lake}"\n',
    )
    env = {"TEAL_NOW": "2025-02-01T00:00:00"}
    done = run_teal("build", cwd=root, env=env)
    assert done.returncode == 0, done.output
    folder = lake / "main" / "daily"
    assert sorted(p.name for p in folder.iterdir()) == ["2025-01-01", "2025-01-02", "2025-01-03"]
    table = ds.dataset(folder / "2025-01-02", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 30 and sorted(set(table.column("k").to_pylist())) == [0, 1, 2]
    assert query(root / "warehouse.duckdb", "select count(*) from daily") == [(90,)]

    clean = {**os.environ, **env}
    clean.pop("PYTHONPATH", None)
    killed = subprocess.run(
        [sys.executable, "-c", DIE_IN_COPY, str(root)], env=clean, capture_output=True, text=True
    )
    assert killed.returncode == 137, killed.stderr
    # the next writer records the partition being copied as failed: a plain build redoes it
    from teal.warehouse.duckdb import DuckDBEngine

    opened = DuckDBEngine(root / "warehouse.duckdb")
    assert [(r.keys, r.outcome) for r in opened.recovered] == [(["2025-01-02"], "rebuild")]
    opened.close()
    state = query(
        root / "warehouse.duckdb",
        "select partition_key, status from teal.partition_state where model = 'daily' order by 1",
    )
    assert ("2025-01-02", "error") in state
    rebuilt = run_teal("build", "--vars", json.dumps({"bump": 100}), cwd=root, env=env)
    assert rebuilt.returncode == 0, rebuilt.output
    assert query(root / "warehouse.duckdb", "select min(n), count(*) from daily") == [(100, 90)]
    assert not list(tmp_path.rglob("*.journal"))


@pytest.mark.slow
def test_secret_values_never_reach_output_the_run_store_or_the_warehouse(project):
    key, secret = "AKIAEXAMPLEKEY", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    root = project(
        {"models/one.sql": "{{ config(materialized='table') }}\nselect 1 as x"},
        config="""
            name = "s"
            threads = 1
            [duckdb]
            autoinstall_known_extensions = false
            [duckdb.secrets.lake]
            type = "s3"
            key_id = { env = "LAKE_KEY" }
            secret = { env = "LAKE_SECRET" }
            scope = "s3://lake"
        """,
    )
    (root / ".env").write_text(f"LAKE_SECRET={secret}\n")
    missing = run_teal("build", cwd=root)
    assert missing.returncode != 0
    assert "LAKE_KEY is not set (secret 'lake', option 'key_id')" in missing.output

    done = run_teal("build", cwd=root, env={"LAKE_KEY": key})
    # without DuckDB's httpfs installed the secret cannot be created (nothing is downloaded:
    # autoinstall is off); with it, the build succeeds. Either way no value shows anywhere.
    if done.returncode != 0:
        assert "DuckDB secret 'lake' (type s3) could not be created" in done.output
    else:
        assert "1 built" in done.output
    written = [done.output, missing.output]
    for path in root.rglob("*"):
        if path.is_file() and path.name != ".env":
            written.append(path.read_bytes().decode("latin-1"))
    assert not any(key in text or secret in text for text in written)


def test_recovery_of_an_object_storage_write_marks_it_for_rebuilding(tmp_path):
    from teal.warehouse import files
    from teal.warehouse.duckdb import DuckDBEngine

    warehouse = tmp_path / "w.duckdb"
    DuckDBEngine(warehouse).close()
    journal = files.Journal(
        files.journal_dir(str(warehouse)) / "abc.json",
        "abc",
        "orders",
        "r1",
        ["2025-01-02"],
        None,
        "s3://lake/orders",
        remote=True,
    )
    journal.write()
    engine = DuckDBEngine(warehouse)
    try:
        assert [(r.model, r.outcome) for r in engine.recovered] == [("orders", "rebuild")]
        state = engine.partition_state("orders")["orders"]["2025-01-02"]
        assert state["status"] == "error" and "interrupted" in state["message"]
    finally:
        engine.close()
    assert not files.journal_dir(str(warehouse)).exists()
