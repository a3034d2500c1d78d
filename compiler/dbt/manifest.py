"""A dbt project's ``target/manifest.json`` in dbt's schema (v12): every node with its
config and ``depends_on``, tests, sources, ``parent_map`` and ``child_map``, so tools that
read dbt's manifest keep working. Written by ``teal parse``, ``teal compile`` and builds.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from teal.compiler.dbt.test_ids import yaml_folders
from teal.compiler.exposures import Exposure
from teal.compiler.project import Project
from teal.compiler.replaced_files import replace_with

MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
DBT_VERSION = "1.10.0"


# what dbt's manifest schema (v12) has no field for, by resource type (`enabled` is a config)
_NOT_IN_SCHEMA = {
    "test": ("enabled", "version"),
    "snapshot": ("enabled", "version"),
    "seed": ("enabled", "version", "compiled_code", "language", "refs", "sources"),
}


def test_unique_id(project: Project, name: str) -> str:
    """dbt's unique id of a test (``test.pkg.name.hash``, ``unit_test.pkg.model.name``)."""
    check = project.checks[name]
    package = project.config.name
    if check.kind == "unit_test":
        model, _, test = name.partition("::")
        return f"unit_test.{package}.{model}.{test}"
    if check.kind == "singular":  # dbt hashes only the generic tests' ids
        return f"test.{package}.{name}"
    ident = project.dbt_tests.get(name)
    if ident is not None:  # compiler/dbt/test_ids.py: as dbt's parser computes it
        return str(ident["unique_id"])
    return f"test.{package}.{name}.{hashlib.md5(name.encode()).hexdigest()[:10]}"


def test_macros(project: Project, name: str, node: dict[str, Any]) -> list[str]:
    """A test's ``depends_on.macros``: a singular test's, what its text calls; a generic
    test's, its test macro (``macro.<package>.test_<name>``: the namespace it is called
    with, else the project's, a package's or dbt's own), as dbt records them."""
    if node:
        return list((node.get("depends_on") or {}).get("macros") or [])
    ident = project.dbt_tests.get(name)
    if ident is None:
        return []
    meta = ident["test_metadata"]
    macro = f"test_{meta['name']}"
    namespace = meta.get("namespace")
    if namespace:
        candidates = [f"macro.{namespace}.{macro}"]
    else:
        candidates = [f"macro.{project.config.name}.{macro}"]
        candidates += sorted(uid for uid in project.dbt_macros if uid.endswith(f".{macro}"))
    found = next((uid for uid in candidates if uid in project.dbt_macros), None)
    return [found or f"macro.dbt.{macro}"]


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
    disabled: dict[str, list[dict[str, Any]]] = {}
    for name, entry in project.dbt_nodes.items():
        uid = entry["unique_id"]
        if entry.get("enabled") is False:  # dbt lists a disabled node apart from the graph
            kind = str(entry.get("resource_type"))
            drop = _NOT_IN_SCHEMA.get(kind, ("enabled",))
            disabled.setdefault(uid, []).append({k: v for k, v in entry.items() if k not in drop})
            continue
        model = project.models.get(name)
        deps = [node_unique_id(project, u) for u in (model.upstreams if model else ())]
        deps += [
            f"source.{project.config.name}.{s}" for s in (model.source_tables if model else ())
        ]
        macros = list((entry.get("depends_on") or {}).get("macros") or [])
        kind = str(entry.get("resource_type"))
        node = {k: v for k, v in entry.items() if k not in _NOT_IN_SCHEMA.get(kind, ("enabled",))}
        if isinstance(node.get("config"), dict):
            node["config"] = _hooks_as_dbt_writes_them(node["config"])
        if model is not None and model.materialized != "ephemeral" and "relation_name" not in node:
            node["relation_name"] = f'"{model.schema}"."{model.alias}"'
        depends: dict[str, list[str]] = {"macros": macros}
        if kind != "seed":  # a seed reads no node
            depends = {"nodes": deps, **depends}
        nodes[uid] = {**node, "depends_on": depends}
        parent_map[uid] = deps
    unit_tests: dict[str, Any] = {}
    for name, check in project.checks.items():
        uid = test_unique_id(project, name)
        if check.kind == "unit_test":  # dbt lists unit tests apart from the nodes
            unit_tests[uid] = _unit_test(project, name, uid)
            parent_map[uid] = unit_tests[uid]["depends_on"]["nodes"]
            continue
        deps = sorted(
            {
                node_unique_id(project, check.asset),
                *(node_unique_id(project, r) for r in check.reads if r in project.models),
            }
        )
        own = nodes.get(uid, {})  # a singular test: its dbt node, completed
        nodes[uid] = {
            **own,
            "unique_id": uid,
            "resource_type": "test",
            "name": name,
            "package_name": project.config.name,
            "original_file_path": check.path,
            "path": f"{name}.sql",
            "fqn": [project.config.name, name],
            "schema": "teal_failures",  # where --store-failures keeps its failing rows
            "alias": name,
            # a singular test's file's, as dbt's (a generic test has none)
            "checksum": own.get("checksum") or {"name": "none", "checksum": ""},
            "compiled_code": check.sql,
            "config": {
                "enabled": True,
                "severity": check.severity.upper(),
                "warn_if": check.warn_if,
                "error_if": check.error_if,
                "fail_calc": check.fail_calc or "count(*)",
                "where": check.where,
                "store_failures": check.store_failures or None,
                "limit": check.limit,
            },
            "depends_on": {"nodes": deps, "macros": test_macros(project, name, own)},
            "test_metadata": {
                "name": check.kind,
                "kwargs": {
                    "column_name": check.column,
                    **{k: v for k, v in check.params.items() if _plain(v)},
                },
            },
        }
        if check.kind == "singular":  # dbt gives test_metadata to generic tests only
            nodes[uid].pop("test_metadata")
            nodes[uid]["fqn"] = (project.dbt_nodes.get(name) or {}).get("fqn") or [
                project.config.name,
                name,
            ]
        ident = project.dbt_tests.get(name)
        if ident is not None:  # a generic test: named as dbt names it
            nodes[uid].update(
                {k: ident[k] for k in ("name", "alias", "fqn", "test_metadata", "column_name")}
            )
            nodes[uid]["package_name"] = ident["unique_id"].split(".")[1]
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
                "path": source.declared_in,
                # dbt's: the folders of its YAML file below the model folder too
                "fqn": [
                    project.config.name,
                    *yaml_folders(source.declared_in),
                    source.name,
                    table.name,
                ],
                "source_description": "",
                "loader": "",
                "relation_name": ".".join(f'"{p}"' for p in parts),
                "loaded_at_field": table.loaded_at_field,
                "freshness": _freshness(table.freshness),
                **project.dbt_sources.get(uid, {}),
            }
            parent_map[uid] = []
    exposures = {}
    for exposure in project.exposures.values():
        uid = f"exposure.{project.config.name}.{exposure.name}"
        exposures[uid] = _exposure(project, exposure, uid)
        parent_map[uid] = list(exposures[uid]["depends_on"]["nodes"])
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
        # dbt's schema has no macro checksum (teal compares macro_sql, as dbt does)
        "macros": {
            uid: {k: v for k, v in macro.items() if k != "checksum"}
            for uid, macro in project.dbt_macros.items()
        },
        "docs": {},
        "exposures": exposures,
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": disabled,
        "parent_map": {k: sorted(v) for k, v in parent_map.items()},
        "child_map": {k: sorted(v) for k, v in child_map.items()},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": unit_tests,
    }


def _freshness(thresholds: tuple[tuple[str, int, str], ...]) -> dict[str, Any] | None:
    """A source table's freshness as dbt's manifest writes it (null when it has none)."""
    if not thresholds:
        return None
    found = {f"{severity}_after": (count, period) for severity, count, period in thresholds}
    return {
        **{
            key: dict(zip(("count", "period"), found.get(key, (None, None)), strict=True))
            for key in ("warn_after", "error_after")
        },
        "filter": None,
    }


def _exposure(project: Project, exposure: Exposure, uid: str) -> dict[str, Any]:
    """dbt's manifest entry of an exposure: what it reads, as the docs site draws it."""
    package = project.config.name
    sources = [
        f"source.{package}.{source}.{table}"
        for source, table in exposure.sources
        if source in project.sources and table.lower() in project.sources[source].tables
    ]
    return {
        "unique_id": uid,
        "resource_type": "exposure",
        "name": exposure.name,
        "package_name": package,
        "path": exposure.path,
        "original_file_path": exposure.path,
        "fqn": [package, exposure.name],
        "type": exposure.type,
        "owner": {"name": exposure.owner or None, "email": exposure.owner_email or None},
        "description": exposure.description,
        "label": exposure.label or None,
        "maturity": exposure.maturity or None,
        "url": exposure.url or None,
        "meta": {},
        "tags": [],
        "config": {"enabled": True, "tags": [], "meta": {}},
        "depends_on": {
            "macros": [],
            "nodes": [*(node_unique_id(project, m) for m in exposure.depends_on), *sources],
        },
        "refs": [{"name": m, "package": None, "version": None} for m in exposure.depends_on],
        "sources": [list(pair) for pair in exposure.sources],
        "metrics": [],
    }


def _unit_test(project: Project, name: str, uid: str) -> dict[str, Any]:
    """dbt's manifest entry of a unit test: the model it tests, its given rows and what it
    expects, as written."""
    check = project.checks[name]
    model, _, test = name.partition("::")
    given = check.params.get("given") or []
    return {
        "unique_id": uid,
        "resource_type": "unit_test",
        "name": test,
        "package_name": project.config.name,
        "path": check.path or "",
        "original_file_path": check.path or "",
        "fqn": [project.config.name, model, test],
        "model": model,
        "given": [g for g in given if isinstance(g, dict) and "input" in g],
        "expect": check.params.get("expect") or {},
        "description": check.description,
        "depends_on": {"nodes": [node_unique_id(project, model)], "macros": []},
        "config": {"enabled": True},
    }


def _hooks_as_dbt_writes_them(config: dict[str, Any]) -> dict[str, Any]:
    """``pre-hook``/``post-hook`` as dbt's manifest holds them: a list of
    ``{sql, transaction, index}``, not the SQL strings of the project file."""
    out = dict(config)
    for key in ("pre-hook", "post-hook"):
        hooks = out.get(key)
        if isinstance(hooks, str):
            hooks = [hooks]
        if isinstance(hooks, list):
            out[key] = [
                h if isinstance(h, dict) else {"sql": str(h), "transaction": True, "index": i}
                for i, h in enumerate(hooks)
            ]
    return out


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
        # compact, as dbt writes it: json's indenting encoder is pure Python (2 s at 1,000 models)
        replace_with(target / name, json.dumps(payload, separators=(",", ":"), default=str))
    except OSError:
        pass
