"""dbt's ``target/catalog.json`` (what ``dbt docs generate`` writes): for each model, seed
and snapshot of a dbt project whose relation exists in the warehouse, its kind, schema,
name, and columns with their DuckDB types, in dbt's catalog v1 schema, so tools that read
dbt's docs artifacts (dbt docs serve, catalogs, linters) keep working.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from teal.compiler.dbt.manifest import DBT_VERSION, write_json, write_manifest
from teal.compiler.project import Project
from teal.warehouse.engine import open_engine

CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
_NO_STATS = {
    "has_stats": {
        "id": "has_stats",
        "label": "Has Stats?",
        "value": False,
        "include": False,
        "description": "Indicates whether there are statistics for this table",
    }
}


def catalog(project: Project) -> dict[str, Any]:
    """The catalog of ``project``'s built relations (relations not built yet are left out,
    as dbt leaves them out)."""
    entries = {
        name: entry
        for name, entry in project.dbt_nodes.items()
        if entry["resource_type"] in ("model", "seed", "snapshot")
        and entry["enabled"]
        and (entry["config"].get("materialized") or "view") != "ephemeral"
    }
    nodes: dict[str, Any] = {}
    path = project.config.warehouse_path
    if entries and (str(path) == ":memory:" or Path(path).exists()):
        with open_engine(project.config, read_only=True) as wh:
            kinds = wh.catalog()
            wanted = [(e["schema"], e["alias"]) for e in entries.values()]
            columns = {(s.lower(), n.lower()): c for (s, n), c in wh.output_schemas(wanted).items()}
            for entry in entries.values():
                kind = kinds.kind(entry["schema"], entry["alias"])
                found = columns.get((entry["schema"].lower(), entry["alias"].lower()))
                if kind is None or not found:
                    continue
                nodes[entry["unique_id"]] = {
                    "metadata": {
                        "type": "VIEW" if kind == "view" else "BASE TABLE",
                        "schema": entry["schema"],
                        "name": entry["alias"],
                        "database": entry["database"],
                        "comment": None,
                        "owner": None,
                    },
                    "columns": {
                        col: {"type": typ, "index": i, "name": col, "comment": None}
                        for i, (col, typ) in enumerate(found, start=1)
                    },
                    "stats": _NO_STATS,
                    "unique_id": entry["unique_id"],
                }
    return {
        "metadata": {
            "dbt_schema_version": CATALOG_SCHEMA,
            "dbt_version": DBT_VERSION,
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "invocation_id": None,
            "env": {},
        },
        "nodes": nodes,
        "sources": {},
        "errors": None,
    }


def write_docs(project: Project) -> tuple[Path, int]:
    """``teal docs generate``: target/manifest.json and target/catalog.json; (target folder,
    relations in the catalog)."""
    target = write_manifest(project)
    payload = catalog(project)
    write_json(target, "catalog.json", payload)
    return target, len(payload["nodes"])
