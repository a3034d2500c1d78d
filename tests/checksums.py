"""Content checksums of a warehouse's relations: what two builds must agree on byte for byte.

A relation's checksum is its columns with their types, its row count and the sum of a hash
of every row, so it does not depend on row order (which a table does not promise) but on
every value of every row.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

Checksum = tuple[tuple[tuple[str, str], ...], int, int]


def content_checksums(
    db: Path, *, skip_schemas: tuple[str, ...] = ("teal",)
) -> dict[str, Checksum]:
    """{schema.relation: (columns and types, rows, sum of row hashes)} for every relation
    outside ``skip_schemas`` (teal's own run records differ from run to run)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, kind in con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall():
            if schema not in skip_schemas:
                columns.setdefault(f"{schema}.{table}", []).append((column, kind))
        sums: dict[str, Checksum] = {}
        for relation, cols in columns.items():
            schema, table = relation.split(".", 1)
            rows, total = con.execute(
                f'select count(*), coalesce(sum(hash(t)), 0) from "{schema}"."{table}" as t'
            ).fetchall()[0]
            sums[relation] = (tuple(cols), int(rows), int(total))
        return sums
    finally:
        con.close()
