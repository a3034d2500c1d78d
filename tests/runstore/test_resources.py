"""Resources, EnvVar secrets and run config, end to end through the real CLI, against
both run stores: a secret read through EnvVar appears nowhere teal writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from teal.runtime.runstore import open_run_store
from tests.conftest import query, run_teal, write_project

pytestmark = pytest.mark.slow

SECRET = "tok-9f8e7d6c5b4a"

RESOURCES_PY = """
import teal


class Api(teal.Resource):
    base_url: str
    token: str
    retries: int = 2

    def setup(self):
        self._session = f"session for {self.base_url}"


class Limits(teal.Resource):
    max_rows: int


resources = {"api": Api(base_url="https://api.example", token=teal.EnvVar("API_TOKEN"))}
"""

CONFIG = """
name = "res"
threads = 1
[resources.limits]
class = "resources.py:Limits"
max_rows = 3
"""

FORECAST = """
import polars as pl

import teal


class Window(teal.Config):
    days: int = 7
    city: str = "Lisbon"


@teal.asset
def forecast(context: teal.AssetContext, api, limits, config: Window) -> pl.DataFrame:
    context.log.info("calling %s with token %s", api.base_url, api.token)
    if config.city == "fail":
        raise RuntimeError(f"401 Unauthorized for token {api.token}")
    n = min(config.days, limits.max_rows)
    return pl.DataFrame({"day": list(range(n)), "city": [config.city] * n, "via": [api._session] * n})
"""

CHECK = """
import teal


@teal.asset_check(asset="forecast")
def token_is_set(forecast, api) -> teal.CheckResult:
    return teal.CheckResult(passed=forecast.num_rows > 0, description=f"checked with {api.token}")
"""


def _project(root: Path) -> Path:
    write_project(
        root,
        {
            "resources.py": RESOURCES_PY,
            "models/forecast.py": FORECAST,
            "models/checks.py": CHECK,
            ".env": f'# secrets for local runs\nexport API_TOKEN="{SECRET}"\n',
        },
        CONFIG,
    )
    return root


def _env(store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "API_TOKEN")}
    env["TEAL_RUN_STORE"] = store
    return env


def _store_text(spec: str, root: Path) -> str:
    """Everything the run store holds, as text (runs, steps, events, materializations)."""
    store = open_run_store(spec, root)
    try:
        parts = []
        for run in store.runs(limit=1000):
            parts.append(repr(run))
            parts += [repr(s) for s in store.steps(run.run_id)]
            parts += [repr(e) for e in store.events(run.run_id)]
            parts.append(repr(store.materializations(run_id=run.run_id)))
        return "\n".join(parts)
    finally:
        store.close()


def test_resources_config_and_a_secret_that_appears_nowhere(tmp_path: Path, store_spec: str):
    root = _project(tmp_path / "proj")
    env = _env(store_spec)

    built = run_teal("build", cwd=root, env=env)
    assert built.returncode == 0, built.output
    assert query(
        root / "warehouse.duckdb", "select count(*), min(city), min(via) from forecast"
    ) == [(3, "Lisbon", "session for https://api.example")]
    assert "calling https://api.example with token EnvVar('API_TOKEN')" in built.stdout

    failed = run_teal("build", "--config-json", '{"forecast": {"city": "fail"}}', cwd=root, env=env)
    assert failed.returncode == 1
    assert "401 Unauthorized for token EnvVar('API_TOKEN')" in failed.output

    debug = run_teal(
        "build", "--debug", "--config-json", '{"forecast": {"city": "fail"}}', cwd=root, env=env
    )
    assert debug.returncode == 1 and "Traceback" in debug.output

    shown = run_teal("runs", "show", "last", cwd=root, env=env)
    logs = run_teal("logs", "last", cwd=root, env=env)
    as_json = run_teal("runs", "show", "last", "--json", cwd=root, env=env)
    recorded = json.loads(as_json.stdout)["run"]["config"]
    assert recorded["resources"]["api"]["token"] == "EnvVar('API_TOKEN')"
    assert recorded["run_config"] == {"forecast": {"city": "fail"}}

    every_output = "\n".join(
        r.output for r in (built, failed, debug, shown, logs, as_json)
    ) + _store_text(store_spec, root)
    assert SECRET not in every_output
    assert "EnvVar('API_TOKEN')" in every_output
    written = [p for p in root.rglob("*") if p.is_file() and p.name != ".env"]
    if not store_spec.startswith("postgresql"):
        written.append(Path(store_spec))
    for path in written:  # the warehouse, the SQLite store and its WAL, target/, caches
        assert SECRET.encode() not in path.read_bytes(), path


def test_retry_reuses_the_run_config(tmp_path: Path, store_spec: str):
    root = _project(tmp_path / "proj")
    env = _env(store_spec)
    (root / "run.yml").write_text("forecast:\n  days: 2\n  city: fail\n")
    assert run_teal("build", "--config", "run.yml", cwd=root, env=env).returncode == 1
    # the failure was outside teal (here: the model); fixed, the retry reuses days: 2
    source = root / "models" / "forecast.py"
    source.write_text(source.read_text().replace('config.city == "fail"', "False"))
    retried = run_teal("retry", cwd=root, env=env)
    assert retried.returncode == 0, retried.output
    assert query(root / "warehouse.duckdb", "select count(*), min(city) from forecast") == [
        (2, "fail")
    ]


def test_a_missing_variable_stops_the_run_before_any_data_changes(tmp_path: Path, store_spec: str):
    root = _project(tmp_path / "proj")
    env = _env(store_spec)
    assert run_teal("build", cwd=root, env=env).returncode == 0
    (root / ".env").unlink()
    (root / "models" / "orders.sql").write_text("select 1 as id")
    done = run_teal("build", cwd=root, env=env)
    assert done.returncode == 2
    assert "resources.py:17:1: environment variable API_TOKEN is not set" in done.stderr
    assert "resource 'api', field 'token'" in done.stderr and "Traceback" not in done.output
    tables = query(
        root / "warehouse.duckdb",
        "select table_name from information_schema.tables where table_schema = 'main'",
    )
    assert ("orders",) not in tables and ("forecast",) in tables  # nothing built, nothing lost
    env["API_TOKEN"] = SECRET  # the environment gives it as well as .env
    assert run_teal("build", cwd=root, env=env).returncode == 0


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (("--config", "run.yml"), "run.yml:2:9", "field 'days': expected int, got 'soon'"),
        (("--config-json", '{"forcast": {}}'), "--config-json", "'forcast', which is not a model"),
        (
            ("--config-json", '{"forecast": {"town": 1}}'),
            "--config-json",
            "Window has no field 'town'",
        ),
        (("--config-json", "{nope"), "--config-json:1:2", "not JSON"),
        (("--config", "typo.yml"), "typo.yml:2:3", "Window has no field 'dayz'"),  # the key
    ],
)
def test_bad_run_config_is_a_located_error(tmp_path: Path, args, where, message):
    root = _project(tmp_path / "proj")
    (root / "run.yml").write_text("forecast:\n  days: soon\n")
    (root / "typo.yml").write_text("forecast:\n  dayz: 3\n")
    env = _env(str(tmp_path / "runs.sqlite"))
    done = run_teal("build", *args, cwd=root, env=env)
    assert done.returncode == 2, done.output
    assert done.stderr.startswith(f"{where}: ") and message in done.stderr
    assert "hint:" in done.stderr
    assert not (root / "warehouse.duckdb").exists() or query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'forecast'",
    ) == [(0,)]


def test_resource_mistakes_are_located(tmp_path: Path):
    root = _project(tmp_path / "proj")
    env = _env(str(tmp_path / "runs.sqlite"))
    config = root / "teal.toml"
    config.write_text(
        CONFIG.replace('class = "resources.py:Limits"', 'class = "resources.py:Limit"')
    )
    done = run_teal("build", cwd=root, env=env)
    assert done.returncode == 2 and "teal.toml:5:1: resource 'limits'" in done.stderr
    assert "resources.py has no 'Limit'" in done.stderr and "did you mean 'Limits'?" in done.stderr
    config.write_text(CONFIG.replace("max_rows = 3", 'max_rows = "many"'))
    done = run_teal("build", cwd=root, env=env)
    assert done.returncode == 2 and "teal.toml:6:1: resource 'limits', field 'max_rows': " in (
        done.stderr
    )
    assert "expected int, got 'many'" in done.stderr
    assert "hint: fields: max_rows: int" in done.stderr
    config.write_text(CONFIG.replace("max_rows = 3", "max_row = 3"))
    done = run_teal("build", cwd=root, env=env)
    assert done.returncode == 2 and "Limits has no field 'max_row'" in done.stderr
    assert "did you mean 'max_rows'?" in done.stderr


def test_validate_builds_every_declared_resource_without_setting_it_up(tmp_path: Path):
    root = _project(tmp_path / "proj")
    env = _env(str(tmp_path / "runs.sqlite"))
    config = root / "teal.toml"
    # a resource no model uses: a build never meets it, `teal validate` does
    config.write_text(CONFIG + '\n[resources.unused]\nclass = "helpers.py:Api"\n')
    done = run_teal("validate", cwd=root, env=env)
    assert done.returncode == 2, done.output
    assert (
        "resource 'unused': class names helpers.py, which is not a file in the project folder"
        in done.stderr
    )
    assert "Traceback" not in done.output
    config.write_text(CONFIG.replace("max_rows = 3", 'max_rows = "many"'))
    done = run_teal("validate", cwd=root, env=env)
    assert done.returncode == 2 and "resource 'limits', field 'max_rows'" in done.stderr
    config.write_text(CONFIG)
    assert run_teal("validate", cwd=root, env=env).returncode == 0
