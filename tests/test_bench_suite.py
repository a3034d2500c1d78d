"""The benchmark suite (bench/generate.py, bench/run.py) keeps working at a tiny size.

No timings are asserted: only that the generated project builds, the floor runs the same
models, and the runner prints its table and writes its JSON.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import duckdb
import pytest

from tests.conftest import REPO, run_teal

pytestmark = pytest.mark.slow


def load_generate():
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_generated_project_builds_and_matches_the_floor(tmp_path):
    gen = load_generate()
    project = gen.generate(tmp_path / "project", 10, rows=100, seed=0)
    info = gen.project_info(project)
    assert info["n_models"] == len(info["models"]) == 10
    assert info["layers"]["python"] >= 1 and info["checks"] == 20
    assert len(list((project / "data").glob("*.parquet"))) == 3
    # deterministic: the same arguments write the same files
    again = gen.generate(tmp_path / "again", 10, rows=100, seed=0)
    for path in sorted((project / "models").rglob("*.*")):
        twin = again / path.relative_to(project)
        assert twin.read_text() == path.read_text(), path

    done = run_teal("build", cwd=project, timeout=120)
    assert done.returncode == 0, done.output
    assert "10 built, 0 failed, 0 skipped" in done.stdout
    assert "Checks: 20 run, 20 passed" in done.stdout

    floor_db = tmp_path / "floor.duckdb"
    con = duckdb.connect(str(floor_db))
    for stmt in gen.floor_sql(project):
        con.execute(stmt)
    con.close()

    relations = [m["relation"] for m in info["models"]]
    built = duckdb.connect(str(project / "warehouse.duckdb"), read_only=True)
    floor = duckdb.connect(str(floor_db), read_only=True)
    try:
        for rel in relations:
            rows = built.execute(f"select count(*) from {rel}").fetchone()[0]
            assert rows > 0, rel
            assert floor.execute(f"select count(*) from {rel}").fetchone()[0] == rows, rel
        py = next(m for m in info["models"] if m["kind"] == "python")
        cols = [r[0] for r in built.execute(f"describe {py['relation']}").fetchall()]
        assert "py_value" in cols
    finally:
        built.close()
        floor.close()


def test_runner_prints_its_table_and_writes_json(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--models",
            "10",
            "--repeat",
            "1",
            "--rows",
            "100",
            "--partitions",
            "24",
            "--out",
            str(tmp_path / "results"),
            "--work",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "floor: plain CTAS in order" in out and "x floor" in out
    assert "teal build, default threads" in out and "no-op rebuild" in out
    assert "teal build, cold: no cache, fresh warehouse" in out
    (result,) = (tmp_path / "results").glob("suite-*.json")
    data = json.loads(result.read_text())
    secs = data["sizes"]["10"]["seconds"]
    for key in (
        "floor",
        "compile_cold",
        "compile_warm",
        "plan_cold",
        "plan_warm",
        "run",
        "build_threads1",
        "build",
        "build_cold",
        "first_model",
        "noop",
        "select_one",
        "floor_one",
        "select_mart",
    ):
        assert len(secs[key]) == 1, key
    assert "teal build -s <one model> is " in out and "x its floor" in out
    assert data["sizes"]["10"]["verify"]["same_as_floor"] is True
    # the partition measurements: 365 daily partitions of 24 rows
    assert "backfill of 365 partitions, multi_run" in out and "x unpartitioned" in out
    assert data["partitions"]["rows"] == 365 * 24
    assert all(len(v) == 1 for v in data["partitions"]["seconds"].values())
