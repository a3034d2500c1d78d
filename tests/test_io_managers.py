"""Custom I/O managers: a ``teal.IOManager`` resource saves a Python asset's data and loads
it back for the Python models and checks that read it (Dagster's I/O managers).

The manager here keeps each asset (or each partition) as an Arrow IPC file in a folder and
logs every call to ``calls.jsonl``, so the tests can see what teal asked of it: checks run
on the rows before ``save`` (a failing error check means no save), a downstream Python
model's partition asks for the upstream partitions it reads, a SQL model can read the
asset only through the manager's ``relation``, and a manager that raises fails the step.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.feather as feather
import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

MANAGER = '''
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import teal


class ArrowFiles(teal.IOManager):
    """Each asset (or partition) as an Arrow file under ``root``."""

    root: str
    fail_on_save: bool = False

    def _path(self, context, key=None):
        name = context.asset_name + (f"@{key}" if key else "")
        return Path(self.root) / f"{name}.arrow"

    def _log(self, **entry):
        with open(Path(self.root) / "calls.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\\n")

    def save(self, context, data):
        Path(self.root).mkdir(parents=True, exist_ok=True)
        assert isinstance(data, pa.Table)
        self._log(call="save", asset=context.asset_name, keys=list(context.partition_keys),
                  rows=data.num_rows)
        if self.fail_on_save:
            raise OSError("the disk is full")
        keys = context.partition_keys or (None,)
        for key in keys:
            part = data if key is None else data.filter(pa.compute.equal(data["day"], key))
            path = self._path(context, key)
            tmp = path.with_suffix(".tmp")
            feather.write_feather(part, tmp)
            tmp.replace(path)  # atomic, as the docs ask

    def load(self, context):
        self._log(call="load", asset=context.asset_name, keys=list(context.partition_keys),
                  reader=context.reader)
        if context.partition_keys:
            return pa.concat_tables(
                [feather.read_table(self._path(context, k)) for k in context.partition_keys]
            )
        found = sorted(Path(self.root).glob(context.asset_name + "*.arrow"))
        return pa.concat_tables([feather.read_table(p) for p in found])


class ArrowFilesForSql(ArrowFiles):
    """The same, with a relation DuckDB reads (an Arrow file DuckDB cannot read: a
    Parquet copy beside it)."""

    def save(self, context, data):
        super().save(context, data)
        import pyarrow.parquet as pq
        pq.write_table(data, Path(self.root) / f"{context.asset_name}.parquet")

    def relation(self, context):
        return f"read_parquet('{Path(self.root).resolve() / (context.asset_name + '.parquet')}')"
'''

ASSETS = """
import polars as pl
import pyarrow as pa
import teal


@teal.asset(io_manager="store")
def scores() -> pa.Table:
    return pa.table({"id": list(range(10)), "score": [i * {{SCALE}} for i in range(10)]})


@teal.asset
def top(scores: pl.DataFrame) -> pl.DataFrame:
    return scores.filter(pl.col("score") >= 5).sort("id")


@teal.asset(io_manager="store", partitioned_by={"static": ["a", "b", "c"]}, partition_column="day")
def parts(context) -> pa.Table:
    return pa.table({"day": [context.partition_key] * 3, "v": [1, 2, 3]})


@teal.asset(partitioned_by={"static": ["a", "b", "c"]}, partition_column="day")
def part_sums(context, parts: pl.DataFrame) -> pl.DataFrame:
    return parts.group_by("day").agg(pl.col("v").sum())


@teal.asset_check(asset="scores")
def scores_has_ten_rows(scores: pa.Table) -> bool:
    return scores.num_rows == 10
"""

CHECKS = """
models:
  - name: scores
    columns:
      - name: score
        tests:
          - accepted_range: {max_value: 100}
"""

CONFIG = """
name = "io"
threads = 1
[resources.store]
class = "io_managers.py:{cls}"
root = "{root}"
"""


def make(project, tmp_path: Path, scale: int = 1, cls: str = "ArrowFiles", extra=None) -> Path:
    store = tmp_path / "store"
    root = project(
        {
            "io_managers.py": MANAGER,
            "models/assets.py": ASSETS.replace("{{SCALE}}", str(scale)),
            "models/schema.yml": CHECKS,
            **(extra or {}),
        },
        config=CONFIG.format(cls=cls, root=store),
    )
    return root


def calls(tmp_path: Path) -> list[dict]:
    log = tmp_path / "store" / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def teal(root: Path, *args: str, ok: bool = True):
    done = run_teal(*args, cwd=root)
    if ok:
        assert done.returncode == 0, done.output
    return done


def test_a_custom_io_manager_saves_and_loads_an_assets_data(project, tmp_path):
    root = make(project, tmp_path)
    out = teal(root, "build").stdout
    assert "4 built" in out, out
    store = tmp_path / "store"
    # saved by the manager, not as a table in the warehouse
    assert feather.read_table(store / "scores.arrow").column("score").to_pylist() == list(range(10))
    assert query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name in ('scores', 'parts')",
    ) == [(0,)]
    # each partition saved on its own, and a partitioned reader asks for its partition only
    assert sorted(p.name for p in store.glob("parts@*.arrow")) == [
        "parts@a.arrow",
        "parts@b.arrow",
        "parts@c.arrow",
    ]
    log = calls(tmp_path)
    saves = [c for c in log if c["call"] == "save"]
    assert {(c["asset"], tuple(c["keys"])) for c in saves} == {
        ("scores", ()),
        ("parts", ("a",)),
        ("parts", ("b",)),
        ("parts", ("c",)),
    }
    loads = [(c["asset"], tuple(c["keys"]), c["reader"]) for c in log if c["call"] == "load"]
    assert ("scores", (), "top") in loads  # a downstream Python model
    assert ("scores", (), "scores") in loads  # the Python check, after the save
    assert {k for a, k, r in loads if r == "part_sums"} == {("a",), ("b",), ("c",)}
    assert query(root / "warehouse.duckdb", "select id from main.top order by id") == [
        (i,) for i in range(5, 10)
    ]
    assert query(root / "warehouse.duckdb", "select day, v from main.part_sums order by day") == [
        ("a", 6),
        ("b", 6),
        ("c", 6),
    ]
    # the saves are recorded in the warehouse's state like any build
    assert query(
        root / "warehouse.duckdb",
        "select status, rows from teal.model_state where model = 'scores'",
    ) == [("success", 10)]
    assert query(
        root / "warehouse.duckdb",
        "select count(*) from teal.partition_state where model = 'parts' and status = 'success'",
    ) == [(3,)]


def test_checks_run_before_the_save_and_a_failing_one_keeps_the_managers_data(project, tmp_path):
    root = make(project, tmp_path)
    teal(root, "build", "-s", "scores")
    before = (tmp_path / "store" / "scores.arrow").read_bytes()
    saves = len([c for c in calls(tmp_path) if c["call"] == "save"])
    # score up to 9 * 50 = 450 fails accepted_range (max 100): the manager is not called
    failing = make(project, tmp_path, scale=50)
    done = teal(failing, "build", "-s", "scores+", ok=False)
    assert "check accepted_range_scores_score failed: 7 failing rows" in done.output
    assert "SKIP" in done.output and "top" in done.output
    assert (tmp_path / "store" / "scores.arrow").read_bytes() == before
    assert len([c for c in calls(tmp_path) if c["call"] == "save"]) == saves


def test_a_sql_model_reads_a_managed_asset_only_through_its_relation(project, tmp_path):
    sql = {
        "models/report.sql": "{{ config(materialized='table') }}\nselect sum(score) as s from scores"
    }
    root = make(project, tmp_path, extra=sql)
    done = teal(root, "build", ok=False)
    assert done.returncode == 2
    assert "'report' is a SQL model reading 'scores'" in done.output
    assert "define relation(context)" in done.output
    assert not (tmp_path / "store" / "scores.arrow").exists()  # refused before anything ran

    other = tmp_path / "other"
    other.mkdir()
    root = make(project, other, cls="ArrowFilesForSql", extra=sql)
    teal(root, "build")
    assert query(root / "warehouse.duckdb", "select s from main.report") == [(45,)]
    # the view over the manager's relation is registered under the asset's name
    assert query(
        root / "warehouse.duckdb",
        "select table_type from information_schema.tables where table_name = 'scores'",
    ) == [("VIEW",)]


def test_a_manager_that_raises_fails_the_step_and_names_itself(project, tmp_path):
    root = make(project, tmp_path)
    config = (root / "teal.toml").read_text() + "fail_on_save = true\n"
    (root / "teal.toml").write_text(config)
    done = teal(root, "build", "-s", "scores", ok=False)
    assert done.returncode == 1
    assert "I/O manager 'store' (ArrowFiles) save raised OSError: the disk is full" in done.output
    assert query(
        root / "warehouse.duckdb", "select status from teal.builds where model = 'scores'"
    ) == [("error",)]


def test_a_resource_that_is_not_an_io_manager_is_refused_before_the_run(project, tmp_path):
    resource = "import teal\n\nclass NotOne(teal.Resource):\n    root: str\n"
    root = project(
        {
            "io_managers.py": resource,
            "models/a.py": "import pyarrow as pa\nimport teal\n\n@teal.asset(io_manager='store')\n"
            "def a() -> pa.Table:\n    return pa.table({'x': [1]})\n",
        },
        config=CONFIG.format(cls="NotOne", root=tmp_path / "store"),
    )
    done = teal(root, "build", ok=False)
    assert done.returncode == 2
    assert "resource 'store' is the io_manager of 'a', but it is a NotOne" in done.output


def test_the_project_and_a_target_choose_the_default_io_manager(project, tmp_path):
    asset = (
        "import pyarrow as pa\nimport teal\n\n@teal.asset\n"
        "def plain() -> pa.Table:\n    return pa.table({'x': [1, 2]})\n"
    )
    root = project(
        {"models/plain.py": asset},
        config='name = "d"\nthreads = 1\nio_manager = "parquet"\n'
        '[targets.dev]\nio_manager = "warehouse"\n',
    )
    teal(root, "build")
    assert (root / "external" / "main" / "plain.parquet").is_file()
    teal(root, "build", "--target", "dev")
    assert query(
        root / "warehouse.duckdb",
        "select table_type from information_schema.tables where table_name = 'plain'",
    ) == [("BASE TABLE",)]


def test_materialize_runs_an_asset_through_the_io_manager_it_is_given(tmp_path):
    """``teal.materialize`` in a unit test: the manager instance passed in saves the asset,
    and the output comes back through its ``load``."""
    import pyarrow as pa

    import teal

    saved: dict[str, pa.Table] = {}

    class InMemory(teal.IOManager):
        def save(self, context, data):
            saved[context.asset_name] = data

        def load(self, context):
            return saved[context.asset_name]

    @teal.asset(io_manager="memory")
    def numbers() -> pa.Table:
        return pa.table({"n": [1, 2, 3]})

    result = teal.materialize([numbers], resources={"memory": InMemory()})
    assert saved["numbers"].column("n").to_pylist() == [1, 2, 3]
    assert result.output_for("numbers").column("n").to_pylist() == [1, 2, 3]
