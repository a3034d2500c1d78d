"""What the deferral tests share: the fixture projects (tests/deferral_*) built into a
"prod" warehouse with the real CLI, and fresh copies of them for each test. The
assertions on commands and DuckDB files are in tests/deferral/support.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deferral.support import built_for_prod


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/deferral_project with every model built into prod.duckdb (and nothing else)."""
    root = tmp_path_factory.mktemp("deferral") / "project"
    return built_for_prod(root, "deferral_project", "--warehouse", "prod.duckdb")


@pytest.fixture
def proj(prod: Path, tmp_path: Path) -> Path:
    """A copy of ``prod``'s project for one test: its prod.duckdb, no dev warehouse."""
    root = tmp_path / "project"
    shutil.copytree(prod, root, ignore=shutil.ignore_patterns("__pycache__", ".teal"))
    return root


@pytest.fixture
def dbt_proj(tmp_path: Path) -> Path:
    """tests/deferral_dbt built with its prod target (schema analytics), its manifest in
    prod-state/; the dev target's schema is dev_ada."""
    return built_for_prod(tmp_path / "shop", "deferral_dbt", "--target", "prod")
