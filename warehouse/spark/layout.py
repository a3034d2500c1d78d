"""Partitioned models on Spark as tables physically partitioned by their partition key.

A partitioned model's rows live in a *data table* ``<name>__teal_p<8 hex>``, created
``PARTITIONED BY (__teal_partition)``, a string column holding each row's teal partition
key (``2025-01-05``, ``eu``, ``2025-01-05|eu``); the model's relation ``<name>`` is a view
selecting the model's columns from it, in the model's order. So:

- a partition refresh is one ``INSERT OVERWRITE TABLE <data> PARTITION (__teal_partition)
  SELECT ...`` with dynamic partition overwrite (the data table's own
  ``partitionOverwriteMode = dynamic`` option, whatever the session's setting): Spark
  replaces the directories of the keys the query writes and touches no other; a partition
  whose new rows are none is dropped (``ALTER TABLE ... DROP PARTITION``);
- the key column makes one directory per teal partition whatever the partition kind (time
  windows of any grain on a DATE or TIMESTAMP column, static and dynamic sets, two
  dimensions), which the partition column itself gives only when its values are the keys
  (a TIMESTAMP column would make a directory per distinct time);
- Spark puts partition columns last in a table's schema; the view keeps the model's
  columns and their order, as on DuckDB, and hides the key column;
- a full refresh writes a new data table and points the view at it (``CREATE OR REPLACE
  VIEW``, one metastore operation), then drops the old one: readers see the old rows or
  the new ones.

Which data table a view reads is kept in its ``teal.partitioned_data`` property. The
catalog (teal.warehouse.spark.engine) shows such a view as the model's table and hides its
data tables.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from teal.warehouse.engine import BuildTarget
from teal.warehouse.spark.session import literal, quote

if TYPE_CHECKING:
    from teal.warehouse.spark.session import SparkSQL

KEY = "__teal_partition"
INFIX = "__teal_p"
PROPERTY = "teal.partitioned_data"
DATA_NAME = re.compile(r"^(?P<model>.+)__teal_p[0-9a-f]{8}$", re.IGNORECASE)


def data_tables(sql: SparkSQL, schema: str, name: str) -> list[str]:
    """The data tables of ``schema.name`` in the catalog (one, or leftovers of a killed
    full refresh too)."""
    if not sql.session.catalog.databaseExists(schema):
        return []
    pattern = f"{name.lower().replace('`', '')}{INFIX}*"
    return sorted(
        t.name
        for t in sql.session.catalog.listTables(schema, pattern)
        if DATA_NAME.match(t.name) and not t.isTemporary
    )


def _memo_key(target: BuildTarget) -> tuple[str, ...]:
    return ("spark-partitioned-data", target.schema.lower(), target.name.lower())


def data_table(sql: SparkSQL, target: BuildTarget, kind: str | None) -> str | None:
    """The data table the target's relation reads when it is a view over one (``kind``:
    what is at the relation, from :func:`~teal.warehouse.spark.materializations.existing`);
    None for a plain table, a plain view, or nothing. Asked once per run and model."""
    if kind is None:
        return None
    if target.catalog is not None:
        known = target.catalog.recall(_memo_key(target))
        if isinstance(known, str):
            return known or None
    found = ""
    rows = sql.rows(f"SHOW TBLPROPERTIES {sql.relation(target.schema, target.name)}")
    for row in rows:
        if row[0] == PROPERTY:
            found = str(row[1])
    _remember(target, found)
    return found or None


def _remember(target: BuildTarget, data: str) -> None:
    if target.catalog is not None:
        target.catalog.keep(_memo_key(target), data)


def forget(target: BuildTarget) -> None:
    """The relation is no longer a view over a data table (it was dropped or replaced)."""
    _remember(target, "")


def new_data_name(target: BuildTarget) -> str:
    return f"{target.name}{INFIX}{uuid.uuid4().hex[:8]}"


def create_data(
    sql: SparkSQL, schema: str, data: str, parts: Sequence[tuple[str, str]], columns: list[str]
) -> None:
    """Data table ``data`` holding each part's rows: ``parts`` are (a Spark relation or
    subquery with the model's ``columns``, the Spark SQL expression of its rows' key)."""
    listed = ", ".join(quote(c) for c in columns)
    union = " UNION ALL ".join(
        f"SELECT {listed}, {key} AS {KEY} FROM {source}" for source, key in parts
    )
    options = (
        " OPTIONS ('partitionOverwriteMode' 'dynamic')" if sql.table_format == "parquet" else ""
    )
    relation = sql.relation(schema, data)
    sql.run(f"DROP TABLE IF EXISTS {relation}")
    sql.run(
        f"CREATE TABLE {relation} USING {sql.table_format}{options} "
        f"PARTITIONED BY ({KEY}) AS {union}"
    )
    sql.wrote = True


def append_data(
    sql: SparkSQL, schema: str, data: str, source: str, key: str, columns: list[str]
) -> None:
    """Add the rows of ``source`` under key expression ``key`` to data table ``data``."""
    listed = ", ".join(quote(c) for c in columns)
    sql.run(
        f"INSERT INTO {sql.relation(schema, data)} SELECT {listed}, {key} AS {KEY} FROM {source}"
    )


def data_columns(sql: SparkSQL, schema: str, data: str) -> list[str]:
    """The model's columns of a data table (its columns but the key)."""
    return [c for c in sql.run(f"SELECT * FROM {sql.relation(schema, data)}").columns if c != KEY]


def audited_rows(schema: str, data: str, columns: list[str]) -> str:
    """A data table's rows without the key column, as the DuckDB SQL an audit reads."""

    def dq(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    return f"(SELECT {', '.join(dq(c) for c in columns)} FROM {dq(schema)}.{dq(data)})"


def point_view(
    sql: SparkSQL, target: BuildTarget, data: str, columns: list[str], replaced: str | None
) -> None:
    """Make the target's relation the view over data table ``data`` and drop the data
    tables it no longer reads. ``replaced``: what was at the relation (a plain table is
    dropped first: a view cannot replace a table in one statement)."""
    relation = sql.relation(target.schema, target.name)
    if replaced == "table" and data_table(sql, target, replaced) is None:
        sql.run(f"DROP TABLE IF EXISTS {relation}")
    listed = ", ".join(quote(c) for c in columns)
    sql.run(
        f"CREATE OR REPLACE VIEW {relation} TBLPROPERTIES ({literal(PROPERTY)} = "
        f"{literal(data)}) AS SELECT {listed} FROM {sql.relation(target.schema, data)}"
    )
    _remember(target, data)
    for old in data_tables(sql, target.schema, target.name):
        if old.lower() != data.lower():
            sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, old)}")
    sql.wrote = True


def overwrite(
    sql: SparkSQL,
    schema: str,
    data: str,
    parts: Sequence[tuple[str, str]],
    select: str,
    emptied: Sequence[str] = (),
) -> None:
    """Replace the partitions the rows of ``parts`` (as for :func:`create_data`) belong
    to, with one ``INSERT OVERWRITE`` (dynamic: only those partitions' directories are
    replaced), and drop partitions ``emptied`` (keys whose new rows are none).
    ``select``: the select list of the data table's columns but the key, in its order."""
    relation = sql.relation(schema, data)
    if parts:
        union = " UNION ALL ".join(
            f"SELECT {select}, {key} AS {KEY} FROM {source}" for source, key in parts
        )
        sql.run(f"INSERT OVERWRITE TABLE {relation} PARTITION ({KEY}) {union}")
    if emptied:
        specs = ", ".join(f"PARTITION ({KEY} = {literal(k)})" for k in emptied)
        sql.run(f"ALTER TABLE {relation} DROP IF EXISTS {specs}")
    sql.wrote = True
