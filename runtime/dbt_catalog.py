"""dbt's ``target/catalog.json`` (what ``dbt docs generate`` writes): for each model, seed
and snapshot of a dbt project whose relation exists in the warehouse, its kind, schema,
name, and columns with their DuckDB types, in dbt's catalog v1 schema, so tools that read
dbt's docs artifacts (dbt docs serve, catalogs, linters) keep working.
"""

from __future__ import annotations

from dataclasses import replace
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
    """The catalog of ``project``'s built relations and of the source tables that exist
    (relations not built yet, and missing source tables, are left out, as dbt leaves them
    out; source tables of a database the profile attaches too)."""
    # uid -> (attached database or "", database, schema, name, "source" or "")
    wanted: dict[str, tuple[str, str, str, str, str]] = {}
    home = project.config.dbt.target.database if project.config.dbt is not None else ""
    for entry in project.dbt_nodes.values():
        if (
            entry["resource_type"] in ("model", "seed", "snapshot")
            and entry["enabled"]
            and (entry["config"].get("materialized") or "view") != "ephemeral"
        ):
            wanted[entry["unique_id"]] = (
                "",
                entry["database"],
                entry["schema"],
                entry["alias"],
                "",
            )
    for source in project.sources.values():
        for table in source.tables.values():
            parts = table.location.split(".")
            if source.kind != "warehouse" or len(parts) not in (2, 3):
                continue
            uid = f"source.{project.config.name}.{source.name}.{table.name}"
            attached = parts[0] if len(parts) == 3 else ""
            wanted[uid] = (attached, attached or home, parts[-2], parts[-1], "source")
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    path = project.config.warehouse_path
    if wanted and (str(path) == ":memory:" or Path(path).exists()):
        databases = {  # a profile's attach: entries, read-only here
            n: replace(src, read_only=True)
            for n, src in project.sources.items()
            if src.kind == "duckdb"
        }
        with open_engine(project.config, read_only=True, sources=databases or None) as wh:
            kinds = wh.catalog()
            local = [(s, n) for a, _, s, n, _ in wanted.values() if not a]
            columns = {(s.lower(), n.lower()): c for (s, n), c in wh.output_schemas(local).items()}
            for uid, (attached, database, schema, name, what) in wanted.items():
                found: list[tuple[str, str]] | None
                if attached:  # in an attached database: read through the engine's cursor
                    kind, found = _attached(wh, attached, schema, name)
                else:
                    kind = kinds.kind(schema, name)
                    found = columns.get((schema.lower(), name.lower()))
                if kind is None or not found:
                    continue
                out = sources if what == "source" else nodes
                out[uid] = {
                    "metadata": {
                        "type": "VIEW" if kind == "view" else "BASE TABLE",
                        "schema": schema,
                        "name": name,
                        "database": database,
                        "comment": None,
                        "owner": None,
                    },
                    "columns": {
                        col: {"type": typ, "index": i, "name": col, "comment": None}
                        for i, (col, typ) in enumerate(found, start=1)
                    },
                    "stats": _NO_STATS,
                    "unique_id": uid,
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
        "sources": sources,
        "errors": None,
    }


def _attached(
    wh: Any, database: str, schema: str, name: str
) -> tuple[str | None, list[tuple[str, str]]]:
    """(kind, [(column, type)]) of a table in an attached database, or (None, [])."""
    try:
        _, rows = wh.cursor().query(
            "select column_name, data_type from information_schema.columns where "
            f"table_catalog = '{database}' and table_schema = '{schema}' and "
            f"table_name = '{name}' order by ordinal_position"
        )
    except Exception:  # noqa: BLE001 - not attached now: left out, as a missing table
        return None, []
    return ("table", [(str(c), str(t)) for c, t in rows]) if rows else (None, [])


def write_docs(project: Project) -> tuple[Path, int]:
    """``teal docs generate``: target/manifest.json and target/catalog.json; (target folder,
    relations in the catalog)."""
    target = write_manifest(project)
    payload = catalog(project)
    write_json(target, "catalog.json", payload)
    return target, len(payload["nodes"])
