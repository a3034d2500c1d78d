"""A dbt project's on-run-start and on-run-end statements, run around a build's steps."""

from __future__ import annotations

import logging

from teal.compiler.errors import ExecutionError
from teal.compiler.project import Project
from teal.warehouse.engine import Engine


def run_hooks(project: Project, wh: Engine, when: str) -> None:
    """The project's on-run-start (``when="start"``) or on-run-end statements, in order;
    the lines they log go to the ``teal.asset.hooks`` logger (the run records them)."""
    hooks = [(sql, logs) for kind, sql, logs in project.hooks if kind == when]
    if not hooks:
        return
    cur = wh.cursor()
    for i, (sql, logs) in enumerate(hooks):
        for text in logs:
            logging.getLogger("teal.asset.hooks").info("%s", text)
        if not sql:
            continue
        try:
            cur.run_statements(sql)
        except Exception as exc:  # noqa: BLE001 - the database's message, located
            raise ExecutionError(
                f"on-run-{when} hook {i} failed: {str(exc).splitlines()[0]}",
                path="dbt_project.yml",
                hint="the hook ran as rendered: " + " ".join(sql.split())[:200],
            ) from None
