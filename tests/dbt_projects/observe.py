"""What a build of a dbt fixture leaves, in a form two tools can be compared on.

For every relation outside teal's own schemas: its kind, its columns with their types and
type families, its row count and a content checksum (rows made canonical text, sorted,
hashed: independent of row order and of DuckDB's hash function), leaving out the columns a
fixture lists as volatile (timestamps of the build itself). For every snapshot, the number
of open rows (``dbt_valid_to is null``). From ``target/run_results.json``: how many tests
(data and unit) ended in each status, and how many nodes of each resource type built.

Used by record_expected.py (with dbt) and by tests/test_dbt_projects.py (with teal); it
needs nothing but duckdb and the standard library.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from pathlib import Path
from typing import Any

SKIP_SCHEMAS = ("teal", "teal_failures", "information_schema", "pg_catalog")
FAMILIES = {
    "integer": (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    ),
    "float": ("FLOAT", "DOUBLE", "REAL"),
    "decimal": ("DECIMAL",),
    "text": ("VARCHAR", "TEXT"),
    "date": ("DATE",),
    "timestamp": (
        "TIMESTAMP",
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP_NS",
        "TIMESTAMP_MS",
        "TIMESTAMP_S",
    ),
    "boolean": ("BOOLEAN",),
}


def family(data_type: str) -> str:
    base = data_type.upper().split("(")[0].strip()
    for name, members in FAMILIES.items():
        if base in members:
            return name
    return base.lower()


def canonical(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def relations(
    db: Path, volatile: dict[str, list[str]] | None = None, attach: dict[str, str] | None = None
) -> dict[str, Any]:
    """``attach``: alias -> file beside ``db`` that the project's profile attaches (its
    views may read them); attached read-only here, and not observed themselves."""
    import duckdb

    volatile = volatile or {}
    con = duckdb.connect(str(db), read_only=True)
    for alias, name in (attach or {}).items():
        con.execute(f"attach '{Path(db).parent / name}' as \"{alias}\" (read_only)")
    try:
        kinds = {
            f"{s}.{t}": ("view" if "VIEW" in k.upper() else "table")
            for s, t, k in con.execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
            if s not in SKIP_SCHEMAS
        }
        columns: dict[str, list[tuple[str, str]]] = {}
        for s, t, c, k in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() order by table_schema, table_name, ordinal_position"
        ).fetchall():
            if f"{s}.{t}" in kinds:
                columns.setdefault(f"{s}.{t}", []).append((c, k))
        out: dict[str, Any] = {}
        for rel in sorted(kinds):
            schema, name = rel.split(".", 1)
            cols = columns.get(rel, [])
            keep = [c for c, _ in cols if c not in volatile.get(rel, [])]
            select = ", ".join(f'"{c}"' for c in keep) or "1"
            rows = con.execute(f'select {select} from "{schema}"."{name}"').fetchall()
            digest = hashlib.sha256(
                "\n".join(sorted("\x1f".join(canonical(v) for v in r) for r in rows)).encode()
            ).hexdigest()
            entry: dict[str, Any] = {
                "kind": kinds[rel],
                "columns": [[c, k, family(k)] for c, k in cols],
                "rows": len(rows),
                "checksum": digest,
            }
            if any(c == "dbt_valid_to" for c, _ in cols):
                entry["open_rows"] = con.execute(
                    f'select count(*) from "{schema}"."{name}" where dbt_valid_to is null'
                ).fetchone()[0]
            out[rel] = entry
        return out
    finally:
        con.close()


def results(path: Path) -> dict[str, Any]:
    """Counts from a dbt-shaped run_results.json."""
    data = json.loads(Path(path).read_text())
    tests: dict[str, int] = {}
    nodes: dict[str, int] = {}
    for r in data.get("results", []):
        uid = r["unique_id"]
        kind = uid.split(".", 1)[0]
        if kind in ("test", "unit_test"):
            tests[r["status"]] = tests.get(r["status"], 0) + 1
        elif kind in ("model", "seed", "snapshot"):
            key = f"{kind}:{r['status']}"
            nodes[key] = nodes.get(key, 0) + 1
    return {"tests": dict(sorted(tests.items())), "nodes": dict(sorted(nodes.items()))}
