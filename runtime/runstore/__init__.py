"""The run store: run history, steps, events and logs that other processes can read while a
build writes (the warehouse itself is held by the build). SQLite under ``.teal/`` by
default; Postgres for production (``run_store = "postgresql://..."`` or
``TEAL_RUN_STORE``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from teal.runtime.runstore.records import (
    IN_PROGRESS,
    Event,
    EventKind,
    Retention,
    RunRecord,
    RunStatus,
    StepRecord,
    StoreStatus,
    Trigger,
)
from teal.runtime.runstore.sqlstore import SqlRunStore

RunStore = SqlRunStore  # the interface: SqliteRunStore and PostgresRunStore implement it

STORE_VARIABLE = "TEAL_RUN_STORE"
DEFAULT_LOCATION = Path(".teal") / "runs.sqlite"
NO_STORE = "none"  # record no runs (throwaway builds, benchmarks of the store's cost)


def store_spec(configured: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Which store to open: ``TEAL_RUN_STORE`` wins over the project's ``run_store``."""
    env = os.environ if environ is None else environ
    return env.get(STORE_VARIABLE) or configured


def open_run_store(spec: str | None, root: Path, *, project: str | None = None) -> RunStore:
    """Open (not yet migrate) the store ``spec`` names: a ``postgresql://`` URL, a
    ``sqlite:///path`` URL or a path (relative to the project ``root``); None is the local
    default under ``.teal/``. ``project``: the project (its name) whose runs it lists and
    whose ticks and cursors it keeps (runtime/runstore/scope.py); None: every project's."""
    store = _open(spec, root)
    store.project = project
    return store


def _open(spec: str | None, root: Path) -> RunStore:
    if spec == NO_STORE:
        from teal.compiler.errors import ProjectError

        raise ProjectError(
            "runs are not recorded: the run store is set to 'none'",
            path=STORE_VARIABLE,
            hint="unset TEAL_RUN_STORE=none (or run_store = 'none') to record runs",
        )
    from teal.compiler.run_store_setting import unknown_store_url

    if spec and (bad := unknown_store_url(spec, STORE_VARIABLE)):
        raise bad  # a run_store in the project file was checked when it was read
    if spec and spec.startswith(("postgresql://", "postgres://")):
        from teal.runtime.runstore.postgres import PostgresRunStore

        return PostgresRunStore(spec)
    from teal.runtime.runstore.sqlite import SqliteRunStore

    if not spec:
        return SqliteRunStore(root / DEFAULT_LOCATION)
    path = Path(spec.removeprefix("sqlite:///") if spec.startswith("sqlite:///") else spec)
    return SqliteRunStore(path if path.is_absolute() else root / path)


__all__ = [
    "IN_PROGRESS",
    "NO_STORE",
    "Event",
    "EventKind",
    "Retention",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "StepRecord",
    "StoreStatus",
    "Trigger",
    "open_run_store",
    "store_spec",
]
