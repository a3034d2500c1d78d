"""The deferral tests' assertions on commands and DuckDB files, and where their fixture
projects are."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.conftest import run_teal

HERE = Path(__file__).resolve().parent.parent  # tests/: the fixture projects deferral_*
TRACEBACK = "Traceback (most recent call last)"
REVENUE = "select * from marts.revenue order by name"


def rows(path: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def relations(path: Path) -> set[str]:
    found = rows(path, "select table_schema || '.' || table_name from information_schema.tables")
    return {r[0] for r in found if not r[0].startswith("teal.")}


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def ok(done) -> None:
    assert done.returncode == 0, done.output
    assert TRACEBACK not in done.output, done.output


def refused(done, *says: str) -> None:
    assert done.returncode == 2, done.output
    assert TRACEBACK not in done.output, done.output
    for text in says:
        assert text in done.output, done.output


def built_for_prod(root: Path, fixture: str, *build: str) -> Path:
    """tests/``fixture`` copied to ``root`` and built for production with ``build``'s
    arguments; a dbt project's manifest kept in prod-state/ as `--state` reads it."""
    shutil.copytree(HERE / fixture, root)
    ok(run_teal("build", *build, "-q", cwd=root))
    if (root / "dbt_project.yml").exists():
        (root / "prod-state").mkdir()
        shutil.copy(root / "target/manifest.json", root / "prod-state/manifest.json")
    return root
