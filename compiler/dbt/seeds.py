"""Seeds: a CSV file becomes a table, with the column types dbt would infer.

dbt (through agate) tries, for each column, whether every non-null value is an integer,
a number, a date (``YYYY-MM-DD``), a timestamp (``YYYY-MM-DD HH:MM:SS`` or ISO 8601), a
boolean (``true``/``false`` in any case), else text; ``""`` and ``null`` are null. A
number column with a decimal part is a DOUBLE, else an INTEGER. ``column_types`` in the
seed's config overrides a column's type. The table is built by one query over DuckDB's
``read_csv`` with every column read as text and cast, so teal's ordinary table
materialization (atomic, with state) loads it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError

NULLS = ("", "null")
_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _is(value: str, kind: str) -> bool:
    if kind == "integer":
        return _INT.match(value) is not None and abs(int(value)) < 2**31
    if kind == "number":
        return _NUM.match(value) is not None
    if kind == "date":
        try:
            datetime.strptime(value, "%Y-%m-%d")
            return True
        except ValueError:
            return False
    if kind == "timestamp":
        for fmt in ("%Y-%m-%d %H:%M:%S",):
            try:
                datetime.strptime(value, fmt)
                return True
            except ValueError:
                pass
        try:
            if "T" in value or " " in value:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                return True
        except ValueError:
            return False
        return False
    if kind == "boolean":
        return value.lower() in ("true", "false")
    return True


def infer_type(values: list[str]) -> str:
    present = [v for v in {v.strip() for v in values} if v.lower() not in NULLS]
    if not present:
        return "INTEGER"
    for kind in ("integer", "number", "date", "timestamp", "boolean"):
        if all(_is(v, kind) for v in present):
            if kind == "number":
                return "DOUBLE" if any(re.search(r"[.eE]", v) for v in present) else "INTEGER"
            return {
                "integer": "INTEGER",
                "date": "DATE",
                "timestamp": "TIMESTAMP",
                "boolean": "BOOLEAN",
            }[kind]
    return "VARCHAR"


def seed_sql(
    path: Path, display: str, config: dict[str, Any], cache: Any = None
) -> tuple[str, tuple[str, ...], str]:
    """(the SELECT loading the seed, its column names, a digest of its content); taken from
    ``cache`` (a CompileCache) when the file and its config are unchanged."""
    data = path.read_bytes()
    digest = hashlib.sha256(data + repr(sorted(config.items(), key=str)).encode()).hexdigest()
    key = f"{digest}:{path}"
    if cache is not None:
        hit = cache.get("seed", key)
        if hit is not None:
            return hit[0], tuple(hit[1]), digest
    sql, columns = _seed_sql(data, path, display, config)
    if cache is not None:
        cache.put("seed", key, (sql, list(columns)))
    return sql, columns, digest


def _seed_sql(
    data: bytes, path: Path, display: str, config: dict[str, Any]
) -> tuple[str, tuple[str, ...]]:
    text = data.decode("utf-8-sig")
    delimiter = str(config.get("delimiter") or ",")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise ProjectError(
            "the seed file is empty", path=display, line=1, hint="a seed needs a header row"
        )
    header = [h.strip() for h in rows[0]]
    if len(set(h.lower() for h in header)) != len(header):
        raise ProjectError(
            "the seed's header names a column twice",
            path=display,
            line=1,
            source_line=text.splitlines()[0],
        )
    for i, row in enumerate(rows[1:], 2):
        if row and len(row) != len(header):
            raise ProjectError(
                f"row has {len(row)} values, the header {len(header)} columns",
                path=display,
                line=i,
                hint=f"check the delimiter ({delimiter!r}) and quoting on this line",
            )
    body = [r for r in rows[1:] if r]
    overrides = {str(k).lower(): str(v) for k, v in (config.get("column_types") or {}).items()}
    types = []
    for index, name in enumerate(header):
        given = overrides.get(name.lower())
        types.append(given or infer_type([r[index] for r in body]))
    # quote_columns only changes how dbt writes the names; DuckDB's are case-preserving
    cols = [f"cast({_q(name)} as {kind}) as {_q(name)}" for name, kind in zip(header, types)]
    location = str(path).replace("'", "''")
    columns_spec = ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header)
    delim = delimiter.replace("'", "''")
    sql = (
        "select\n    "
        + ",\n    ".join(cols)
        + f"\nfrom read_csv('{location}', header = true, delim = '{delim}', quote = '\"', "
        f"escape = '\"', nullstr = ['', 'null', 'NULL', 'Null'], columns = {{{columns_spec}}})"
    )
    return sql, tuple(h.lower() for h in header)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
