"""dbt's artifacts for a dbt project: ``target/run_results.json`` and ``target/manifest.json``
in dbt's schemas, so tools that read dbt artifacts keep working.

run_results: one result per node that ran (``model.``/``seed.``/``snapshot.`` with status
success/error/skipped) and per test (``test.``/``unit_test.`` with pass/warn/fail/error, or
skipped when the node it tests did not build), with ``timing``, ``execution_time``,
``failures`` and ``message``; ``teal test`` and ``teal check`` write the tests' results
alone, as ``dbt test`` does. The manifest: every node with its config, ``depends_on``,
and ``parent_map``/``child_map``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.manifest import (
    manifest,
    metadata,
    node_unique_id,
    test_unique_id,
    write_json,
)
from teal.compiler.project import Project
from teal.runtime.results import BuildResult
from teal.runtime.run_options import NO_CHECKS

if TYPE_CHECKING:
    from teal.runtime.check_run import CheckRun
    from teal.runtime.checking import CheckOutcome

RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"


def _timing(seconds: float) -> list[dict[str, str]]:
    end = datetime.now(UTC)
    start = end.timestamp() - seconds
    started = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        {"name": "compile", "started_at": started, "completed_at": started},
        {
            "name": "execute",
            "started_at": started,
            "completed_at": end.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    ]


def run_results(project: Project, result: BuildResult, command: str) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for r in result.results:
        model = project.models.get(r.model)
        if model is None:
            continue
        uid = node_unique_id(project, r.model)
        status = {"success": "success", "error": "error", "skipped": "skipped"}.get(
            r.status, r.status
        )
        out.append(
            {
                "status": status,
                "timing": _timing(r.duration_s),
                "thread_id": "Thread-1",
                "execution_time": round(r.duration_s, 4),
                "adapter_response": {"_message": "OK", "code": "OK", "rows_affected": r.rows}
                if r.rows is not None
                else {},
                "message": r.message if r.status != "success" else "OK",
                "failures": None,
                "unique_id": uid,
                "compiled": True,
                "compiled_code": model.compiled_sql,
                "relation_name": None
                if model.materialized == "ephemeral"
                else f'"{model.schema}"."{model.alias}"',
                "batch_results": None,
            }
        )
        if command in NO_CHECKS:  # tests did not run
            continue
        tested = _worst(project, r.checks)
        out += [_test_result(project, o) for o in tested.values()]
        if r.status != "success":
            out += [_skipped_test(project, name) for name in model.checks if name not in tested]
    out += [_test_result(project, o) for o in _worst(project, result.tests).values()]
    return {
        "metadata": metadata(result.run_id, RUN_RESULTS_SCHEMA),
        "results": out,
        "elapsed_time": round(result.duration_s, 4),
        "args": {"which": command, "teal_run_id": result.run_id},
    }


def test_results(project: Project, run: CheckRun, elapsed_s: float) -> dict[str, Any]:
    """run_results.json of ``teal test`` / ``teal check``, as ``dbt test`` writes it: one
    result per test that ran (its worst outcome over partitions), and each test of a
    selected node not built yet as skipped."""
    out = [_test_result(project, o) for o in _worst(project, run.outcomes).values()]
    for name in run.missing:
        out += [
            _skipped_test(project, check, f"{name} is not built yet")
            for check in project.models[name].checks
            if check in project.checks
        ]
    return {
        "metadata": metadata(run.run_id, RUN_RESULTS_SCHEMA),
        "results": out,
        "elapsed_time": round(elapsed_s, 4),
        "args": {"which": "test", "teal_run_id": run.run_id},
    }


_RANK = {"pass": 0, "skipped": 1, "warn": 2, "fail": 3, "error": 4}


def _worst(project: Project, outcomes: Iterable[CheckOutcome]) -> dict[str, CheckOutcome]:
    """Each test's worst outcome (a partitioned node's tests run once per partition)."""
    worst: dict[str, CheckOutcome] = {}
    for outcome in outcomes:
        held = worst.get(outcome.check)
        if outcome.check in project.checks and (
            held is None or _RANK.get(outcome.status, 4) > _RANK.get(held.status, 4)
        ):
            worst[outcome.check] = outcome
    return worst


def _test_result(project: Project, outcome: CheckOutcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "timing": _timing(outcome.duration_ms / 1000),
        "thread_id": "Thread-1",
        "execution_time": round(outcome.duration_ms / 1000, 4),
        "adapter_response": {},
        "message": outcome.message
        or (None if outcome.status == "pass" else f"Got {outcome.failing} results"),
        "failures": outcome.failing,
        "unique_id": test_unique_id(project, outcome.check),
        "compiled": True,
        "compiled_code": project.checks[outcome.check].sql,
        "relation_name": None,
        "batch_results": None,
    }


def _skipped_test(project: Project, name: str, message: str | None = None) -> dict[str, Any]:
    return {
        "status": "skipped",
        "timing": [],
        "thread_id": "Thread-1",
        "execution_time": 0.0,
        "adapter_response": {},
        "message": message,
        "failures": None,
        "unique_id": test_unique_id(project, name),
        "compiled": False,
        "compiled_code": None,
        "relation_name": None,
        "batch_results": None,
    }


__all__ = ["manifest", "run_results", "test_results", "write_json"]
