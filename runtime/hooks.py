"""A dbt project's on-run-start and on-run-end statements, run around a build's steps.

on-run-start is rendered when the project loads; on-run-end after the run, as dbt renders
it, with dbt's ``schemas``, ``database_schemas`` and ``results`` (:func:`run_end_context`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from teal.compiler.errors import ExecutionError
from teal.compiler.project import Project
from teal.runtime.results import BuildResult
from teal.warehouse.engine import Engine, EngineCursor

# run_results statuses of a node whose relation this run did not leave built
_NOT_BUILT = ("error", "fail", "skipped")


def run_hooks(project: Project, wh: Engine, when: str) -> None:
    """The project's on-run-start statements (``when="start"``), in order; the lines they
    log go to the ``teal.asset.hooks`` logger (the run records them)."""
    hooks = [(sql, logs) for kind, sql, logs in project.hooks if kind == when]
    if hooks:
        _run(wh.cursor(), hooks, when)


def run_end_hooks(project: Project, wh: Engine, result: BuildResult, command: str) -> None:
    """The project's on-run-end statements, rendered now with what the run did."""
    if project.render_run_end is None:
        return
    cur = wh.cursor()
    hooks = project.render_run_end(run_end_context(project, result, command), cur.query)
    _run(cur, hooks, "end")


def run_end_context(project: Project, result: BuildResult, command: str) -> dict[str, Any]:
    """dbt's extra names of on-run-end hooks: ``results`` (one per node and test that ran,
    with ``status``, ``message``, ``execution_time``, ``adapter_response``, ``failures``,
    ``timing`` and ``node``, its manifest entry), ``database_schemas`` (the (database,
    schema) pairs of the models, seeds and snapshots that built) and ``schemas`` (their
    schemas)."""
    from teal.runtime.dbt_artifacts import manifest, run_results

    nodes = manifest(project)["nodes"]
    results = []
    for entry in run_results(project, result, command)["results"]:
        node = nodes.get(entry["unique_id"], {"unique_id": entry["unique_id"]})
        results.append(_attrs({**entry, "node": node}))
    pairs = sorted(
        {
            (r.node.get("database"), r.node.get("schema"))
            for r in results
            if r.node.get("resource_type") in ("model", "seed", "snapshot")
            and r.status not in _NOT_BUILT
            and r.node.get("schema")
        },
        key=lambda pair: (str(pair[0]), str(pair[1])),
    )
    return {
        "results": results,
        "database_schemas": pairs,
        "schemas": sorted({schema for _, schema in pairs}),
    }


def _attrs(value: Any) -> Any:
    """JSON data as the objects dbt's hooks read (``r.node.config.materialized``)."""
    from teal.compiler.dbt.values import AttrDict

    if isinstance(value, dict):
        return AttrDict({k: _attrs(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_attrs(v) for v in value]
    return value


def _run(cur: EngineCursor, hooks: Iterable[tuple[str, tuple[str, ...]]], when: str) -> None:
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
