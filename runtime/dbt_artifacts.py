"""dbt's artifacts for a dbt project: ``target/run_results.json`` and ``target/manifest.json``
in dbt's schemas, so tools that read dbt artifacts keep working.

run_results: one result per node that ran (``model.``/``seed.``/``snapshot.`` with status
success/error/skipped) and per test (``test.``/``unit_test.`` with pass/warn/fail/error, or
skipped when the node it tests did not build), with ``timing``, ``execution_time``,
``failures`` and ``message``. The manifest: every node with its config, ``depends_on``,
and ``parent_map``/``child_map``.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from teal.compiler.project import Project
from teal.runtime.results import BuildResult

RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"
MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
DBT_VERSION = "1.10.0"


def test_unique_id(project: Project, name: str) -> str:
    check = project.checks[name]
    package = project.config.name
    if check.kind == "unit_test":
        model, _, test = name.partition("::")
        return f"unit_test.{package}.{model}.{test}"
    return f"test.{package}.{name}.{hashlib.md5(name.encode()).hexdigest()[:10]}"


def node_unique_id(project: Project, model: str) -> str:
    return str(project.models[model].config.get("unique_id") or f"model.{project.config.name}.{model}")


def _metadata(invocation_id: str) -> dict[str, Any]:
    return {
        "dbt_schema_version": RUN_RESULTS_SCHEMA,
        "dbt_version": DBT_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "invocation_id": invocation_id,
        "env": {},
    }


def _timing(seconds: float) -> list[dict[str, str]]:
    end = datetime.now(UTC)
    start = end.timestamp() - seconds
    started = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        {"name": "compile", "started_at": started, "completed_at": started},
        {"name": "execute", "started_at": started, "completed_at": end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
    ]


def run_results(project: Project, result: BuildResult, command: str) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for r in result.results:
        model = project.models.get(r.model)
        if model is None:
            continue
        uid = node_unique_id(project, r.model)
        status = {"success": "success", "error": "error", "skipped": "skipped"}.get(r.status, r.status)
        out.append({
            "status": status,
            "timing": _timing(r.duration_s),
            "thread_id": "Thread-1",
            "execution_time": round(r.duration_s, 4),
            "adapter_response": {"_message": "OK", "code": "OK", "rows_affected": r.rows} if r.rows is not None else {},
            "message": r.message if r.status != "success" else "OK",
            "failures": None,
            "unique_id": uid,
            "compiled": True,
            "compiled_code": model.compiled_sql,
            "relation_name": None if model.materialized == "ephemeral" else f'"{model.schema}"."{model.alias}"',
            "batch_results": None,
        })
        if command == "run":
            continue
        seen = set()
        for outcome in r.checks:
            if outcome.check not in project.checks or outcome.check in seen:
                continue
            seen.add(outcome.check)
            out.append({
                "status": outcome.status,
                "timing": _timing(outcome.duration_ms / 1000),
                "thread_id": "Thread-1",
                "execution_time": round(outcome.duration_ms / 1000, 4),
                "adapter_response": {},
                "message": outcome.message or (None if outcome.status == "pass" else f"Got {outcome.failing} results"),
                "failures": outcome.failing,
                "unique_id": test_unique_id(project, outcome.check),
                "compiled": True,
                "compiled_code": project.checks[outcome.check].sql,
                "relation_name": None,
                "batch_results": None,
            })
        if r.status != "success":
            for name in model.checks:
                if name not in seen:
                    out.append({
                        "status": "skipped", "timing": [], "thread_id": "Thread-1",
                        "execution_time": 0.0, "adapter_response": {}, "message": None,
                        "failures": None, "unique_id": test_unique_id(project, name),
                        "compiled": False, "compiled_code": None, "relation_name": None,
                        "batch_results": None,
                    })
    return {
        "metadata": _metadata(result.run_id),
        "results": out,
        "elapsed_time": round(result.duration_s, 4),
        "args": {"which": command, "teal_run_id": result.run_id},
    }


def manifest(project: Project) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    parent_map: dict[str, list[str]] = {}
    child_map: dict[str, list[str]] = {}
    for name, entry in project.dbt_nodes.items():
        uid = entry["unique_id"]
        model = project.models.get(name)
        deps = [node_unique_id(project, u) for u in (model.upstreams if model else ())]
        deps += [f"source.{project.config.name}.{s}" for s in (model.source_tables if model else ())]
        nodes[uid] = {**entry, "depends_on": {"nodes": deps, "macros": []}}
        parent_map[uid] = deps
    for name, check in project.checks.items():
        uid = test_unique_id(project, name)
        deps = sorted({node_unique_id(project, check.asset), *(node_unique_id(project, r) for r in check.reads if r in project.models)})
        nodes[uid] = {
            "unique_id": uid,
            "resource_type": "unit_test" if check.kind == "unit_test" else "test",
            "name": name,
            "package_name": project.config.name,
            "original_file_path": check.path,
            "compiled_code": check.sql,
            "config": {"severity": check.severity.upper(), "warn_if": check.warn_if, "error_if": check.error_if},
            "depends_on": {"nodes": deps, "macros": []},
            "test_metadata": {"name": check.kind, "kwargs": {"column_name": check.column, **{k: v for k, v in check.params.items() if _plain(v)}}},
        }
        parent_map[uid] = deps
    sources = {}
    for source in project.sources.values():
        for table in source.tables.values():
            uid = f"source.{project.config.name}.{source.name}.{table.name}"
            schema, _, identifier = table.location.partition(".")
            sources[uid] = {
                "unique_id": uid, "resource_type": "source", "source_name": source.name,
                "name": table.name, "schema": schema, "identifier": identifier,
                "package_name": project.config.name, "original_file_path": source.declared_in,
            }
            parent_map[uid] = []
    for uid in parent_map:
        child_map.setdefault(uid, [])
    for uid, parents in parent_map.items():
        for parent in parents:
            child_map.setdefault(parent, []).append(uid)
    return {
        "metadata": {**_metadata(""), "dbt_schema_version": MANIFEST_SCHEMA, "project_name": project.config.name, "adapter_type": "duckdb"},
        "nodes": nodes,
        "sources": sources,
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": {k: sorted(v) for k, v in parent_map.items()},
        "child_map": {k: sorted(v) for k, v in child_map.items()},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {k: v for k, v in nodes.items() if k.startswith("unit_test.")},
    }


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def write_json(target: Path, name: str, payload: dict[str, Any]) -> None:
    try:
        target.mkdir(exist_ok=True)
        tmp = target / f"{name}.tmp"
        tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, target / name)
    except OSError:
        pass  # the build result stands even if target/ is not writable
