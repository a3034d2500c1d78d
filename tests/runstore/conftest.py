"""Run store fixtures: every test runs against SQLite and against a real Postgres server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from teal.runtime.runstore import RunStore, open_run_store
from tests.runstore.postgres_server import binaries, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if binaries() is None:
        pytest.skip("Postgres server binaries are not installed (bash scripts/test.sh does it)")
    with postgres_server() as url:
        yield url


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """The URL of a new, empty database on the test server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("fresh_postgres"))
    return str(tmp_path / "runs.sqlite")


@pytest.fixture
def store(store_spec: str, tmp_path: Path) -> Iterator[RunStore]:
    opened = open_run_store(store_spec, tmp_path)
    try:
        yield opened
    finally:
        opened.close()
