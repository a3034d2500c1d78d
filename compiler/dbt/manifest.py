"""A dbt project's ``target/manifest.json`` in dbt's schema (v12): every node with its
config and ``depends_on``, tests, sources, ``parent_map`` and ``child_map``, so tools that
read dbt's manifest keep working. Written by ``teal parse``, ``teal compile`` and builds.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from teal.compiler.project import Project

MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
DBT_VERSION = "1.10.0"


def test_unique_id(project: Project, name: str) -> str:
    """dbt's unique id of a test (``test.pkg.name.hash``, ``unit_test.pkg.model.name``)."""
    check = project.checks[name]
    package = project.config.name
    if check.kind == "unit_test":
        model, _, test = name.partition("::")
        return f"unit_test.{package}.{model}.{test}"
    return f"test.{package}.{name}.{hashlib.md5(name.encode()).hexdigest()[:10]}"


def node_unique_id(project: Project, model: str) -> str:
    return str(
        project.models[model].config.get("unique_id") or f"model.{project.config.name}.{model}"
    )


def metadata(invocation_id: str, schema: str) -> dict[str, Any]:
    return {
        "dbt_schema_version": schema,
        "dbt_version": DBT_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "invocation_id": invocation_id,
        "env": {},
    }


def manifest(project: Project) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    parent_map: dict[str, list[str]] = {}
    child_map: dict[str, list[str]] = {}
    for name, entry in project.dbt_nodes.items():
        uid = entry["unique_id"]
        model = project.models.get(name)
        deps = [node_unique_id(project, u) for u in (model.upstreams if model else ())]
        deps += [
            f"source.{project.config.name}.{s}" for s in (model.source_tables if model else ())
        ]
        macros = list((entry.get("depends_on") or {}).get("macros") or [])
        nodes[uid] = {**entry, "depends_on": {"nodes": deps, "macros": macros}}
        parent_map[uid] = deps
    for name, check in project.checks.items():
        uid = test_unique_id(project, name)
        deps = sorted(
            {
                node_unique_id(project, check.asset),
                *(node_unique_id(project, r) for r in check.reads if r in project.models),
            }
        )
        nodes[uid] = {
            "unique_id": uid,
            "resource_type": "unit_test" if check.kind == "unit_test" else "test",
            "name": name,
            "package_name": project.config.name,
            "original_file_path": check.path,
            "compiled_code": check.sql,
            "config": {
                "severity": check.severity.upper(),
                "warn_if": check.warn_if,
                "error_if": check.error_if,
            },
            "depends_on": {"nodes": deps, "macros": []},
            "test_metadata": {
                "name": check.kind,
                "kwargs": {
                    "column_name": check.column,
                    **{k: v for k, v in check.params.items() if _plain(v)},
                },
            },
        }
        parent_map[uid] = deps
    sources = {}
    for source in project.sources.values():
        for table in source.tables.values():
            uid = f"source.{project.config.name}.{source.name}.{table.name}"
            parts = table.location.split(".")  # schema.table, or database.schema.table
            database = parts[0] if len(parts) == 3 else None
            schema, identifier = parts[-2], parts[-1]
            sources[uid] = {
                "unique_id": uid,
                "resource_type": "source",
                "source_name": source.name,
                "name": table.name,
                "database": database,
                "schema": schema,
                "identifier": identifier,
                "package_name": project.config.name,
                "original_file_path": source.declared_in,
            }
            parent_map[uid] = []
    for uid in parent_map:
        child_map.setdefault(uid, [])
    for uid, parents in parent_map.items():
        for parent in parents:
            child_map.setdefault(parent, []).append(uid)
    return {
        "metadata": {
            **metadata("", MANIFEST_SCHEMA),
            "project_name": project.config.name,
            "adapter_type": "duckdb",
        },
        "nodes": nodes,
        "sources": sources,
        "macros": dict(project.dbt_macros),
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


def write_manifest(project: Project) -> Path:
    target = project.root / "target"
    write_json(target, "manifest.json", manifest(project))
    return target


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def write_json(target: Path, name: str, payload: dict[str, Any]) -> None:
    """``target/<name>`` replaced atomically (nothing when target/ is not writable)."""
    try:
        target.mkdir(exist_ok=True)
        tmp = target / f"{name}.tmp"
        # compact, as dbt writes it: json's indenting encoder is pure Python (2 s at 1,000 models)
        tmp.write_text(json.dumps(payload, separators=(",", ":"), default=str), encoding="utf-8")
        os.replace(tmp, target / name)
    except OSError:
        pass
