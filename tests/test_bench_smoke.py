"""The benchmark scripts keep working (tiny sizes; their timings are not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def run_bench(
    script: str, *args: str, timeout: int = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python bench/<script> <args>``, which must succeed."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_partition_refresh_benchmark_runs_at_a_tiny_size(tmp_path):
    done = run_bench(
        "partition_refresh.py", "--repeat", "1", "--rows-per-day", "24", "--out", str(tmp_path)
    )
    assert "refresh 1 partition" in done.stdout and "x floor" in done.stdout
    assert "x unpartitioned" in done.stdout
    (result,) = tmp_path.glob("partition_refresh-*.json")
    data = json.loads(result.read_text())
    assert data["rows"] == 365 * 24
    assert set(data["median"]) == {
        "floor",
        "unpartitioned",
        "full_default",
        "full_multi_run",
        "full_single_run",
        "refresh_process",
        "refresh_steps",
    }


def test_daemon_benchmark_runs_at_a_tiny_size(tmp_path):
    run_bench(
        "daemon.py",
        *("--repeat", "1", "--idle", "1", "--ticks", "20", "--models", "12", "--minutes", "2"),
        *("--out", str(tmp_path)),
    )
    (result,) = tmp_path.glob("daemon-*.json")
    data = json.loads(result.read_text())
    assert data["many_ticks"]["ticks"] == 20 and data["idle"]["schedules"] == 100
    assert data["latency"]["file_to_run_started_s"]["median"] > 0
    # one load for 4 evaluations of the conditions and 2 of freshness: the project is kept
    assert data["evaluations"]["models"] == 12 and data["evaluations"]["project_loads"] == 1


def test_ui_benchmark_runs_at_a_tiny_size(tmp_path):
    from tests.ui.conftest import chromium_path

    if chromium_path() is None:
        pytest.skip("Chromium is not installed (bash scripts/test.sh installs Debian's chromium)")
    run_bench("ui.py", "--models", "40", "--repeat", "1", "--rounds", "12", "--out", str(tmp_path))
    (result,) = tmp_path.glob("ui-*.json")
    data = json.loads(result.read_text())
    assert data["assets"] == 43 and data["boxes_drawn"] > 0 and data["graph_interactive_s"] > 0


def test_dbt_bench_runs_at_a_tiny_size_without_dbt(tmp_path: Path) -> None:
    """bench/dbt.py's generated dbt project builds with teal to the floor's row counts."""
    run_bench(
        "dbt.py",
        "--models",
        "8",
        "--repeat",
        "1",
        "--no-dbt",
        "--out",
        str(tmp_path),
        timeout=300,
        env={**os.environ, "TEAL_RUN_STORE": "none"},
    )
    (result,) = tmp_path.glob("dbt-*.json")
    assert json.loads(result.read_text())["results"][0]["models"] == 8


def test_partition_scale_benchmark_runs_at_a_tiny_size(tmp_path):
    done = run_bench(
        "partition_scale.py",
        "--models",
        "12",
        "--backfill",
        "30",
        "--repeat",
        "1",
        "--all-built",
        "--out",
        str(tmp_path),
    )
    assert "teal partitions show <one model>" in done.stdout
    assert "target <= 0.3 s" in done.stdout and "s CPU" in done.stdout
    (result,) = tmp_path.glob("partition-scale-*.json")
    data = json.loads(result.read_text())
    assert data["many"]["models"] == 12
    assert data["many"]["all_built"]["state_rows_written"] == 12 * 364
    assert data["backfill"]["materialized"] == 30 and data["backfill"]["lock_lines"] == 0


def test_external_benchmark_runs_at_a_tiny_size(tmp_path):
    done = run_bench(
        "external.py", "--repeat", "1", "--orders", "2000", "--out", str(tmp_path), timeout=900
    )
    assert "| customer_lifetime_value | 200 |" in done.stdout
    (result,) = tmp_path.glob("external-*.json")
    data = json.loads(result.read_text())
    (size,) = data["results"]
    assert set(size["models"]) == {
        "customer_lifetime_value",
        "daily_traffic",
        "product_performance",
        "daily_revenue",
        "monthly_region_revenue",
        "int_orders",
    }
    assert size["parquet_bytes"] > 0


def test_ab_build_benchmark_runs_at_a_tiny_size(tmp_path):
    done = run_bench(
        "ab_build.py",
        "--baseline-python",
        sys.executable,
        "--models",
        "8",
        "--repeat",
        "1",
        "--out",
        str(tmp_path),
    )
    assert "ratio" in done.stdout
    assert list(tmp_path.glob("ab_build-*.json"))


def test_the_suites_opt_in_parts_report_each_value_beside_its_target():
    """bench/run.py --with run_store,daemon,ui,partition_scale (bench/extras.py) runs each
    part's own script and reads back its JSON: every part gives rows, and a row with a
    target says whether it is met."""
    code = (
        "import json, sys; sys.path.insert(0, 'bench'); import extras\n"
        "found = extras.measure(list(extras.PARTS), 1, small=True)\n"
        "print(extras.table(found))\n"
        "print('JSON', json.dumps({k: [r._asdict() for r in v] for k, v in found.items()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(done.stdout.split("JSON ", 1)[1])
    assert sorted(found) == ["daemon", "partition_scale", "run_store", "ui"]
    labels = {r["label"]: r for rows in found.values() for r in rows}
    assert labels["landed file -> run started"]["target"] == "<= 1 s"
    assert labels["8 models, sqlite: build waits on the store"]["met"] in (True, False)
    assert labels["60-partition backfill: lock errors"]["met"] is True
    assert any(label.endswith("graph interactive") for label in labels)
    assert "part             measurement" in done.stdout


def test_ab_commands_benchmark_runs_at_a_tiny_size(tmp_path):
    done = run_bench(
        "ab_commands.py",
        "--baseline-python",
        sys.executable,
        "--models",
        "12",
        "--repeat",
        "1",
        "--out",
        str(tmp_path),
    )
    assert "no-op rebuild after a cold build" in done.stdout and "ratio" in done.stdout
    [written] = tmp_path.glob("ab_commands-*.json")
    timed = json.loads(written.read_text())["timed"]
    assert len(timed["compile, cold"]["this"]) == 1


def test_duckdb_costs_benchmark_runs_at_a_tiny_size(tmp_path):
    done = run_bench(
        "duckdb_costs.py",
        *("--models", "50", "--statements", "20", "--repeat", "1", "--out", str(tmp_path)),
    )
    assert "parse and bind it (con.sql)" in done.stdout
    (result,) = tmp_path.glob("duckdb_costs-*.json")
    data = json.loads(result.read_text())
    assert data["queries"] > 0 and data["median_us"]["create table"] > 0
