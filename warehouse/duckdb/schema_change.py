"""An incremental model's ``on_schema_change``, applied as rows are added to its table.

When the model's query now has other columns than the table built earlier (by name), or
gives a column another type, ``fail`` refuses, ``ignore`` inserts the columns the table
has (in its types), ``append_new_columns`` adds the new ones to the table (typed as the
query types them; a column's type stays) and ``sync_all_columns`` also drops the ones the
query lacks and changes a column's type to the query's (dbt's names and meanings). The planner refuses
``fail`` before anything runs when binding knows the columns (compiler/schema_change.py);
this is the check of record, in the transaction that adds the rows, for whole tables and
for partitions alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teal.warehouse.duckdb.sql import SQL, qualified, quote
from teal.warehouse.engine import BuildTarget, SchemaChangeError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

_SAME = "same"


def aligned(
    cur: DuckDBPyConnection, target: BuildTarget, source: str, *, same_query: bool = True
) -> str:
    """What to insert into the target's existing table from ``source`` (a parenthesised
    query or a relation), after applying the model's ``on_schema_change``.

    Two catalog queries, so a run that adds many partitions of one query with unchanged
    columns pays them for its first partition only (the run's catalog remembers it;
    ``same_query=False``: rows from Python, whose columns may differ per call, are looked
    at every time). A difference is not remembered: its alteration commits with that
    partition, and the next partition looks again.
    """
    memo = target.catalog if same_query else None
    key = ("columns-aligned", target.schema.lower(), target.name.lower(), target.sql_hash)
    if memo is not None and memo.recall(key) == _SAME:
        return source
    result = _apply(cur, target, source, types=same_query)
    if result is None:
        if memo is not None:
            memo.keep(key, _SAME)
        return source
    return result


def _apply(
    cur: DuckDBPyConnection, target: BuildTarget, source: str, *, types: bool = True
) -> str | None:
    """None when the columns agree; else what to insert from (or SchemaChangeError).
    ``types``: compare types too (a SQL model's; rows from Python take the types their
    frame has each call, a nullable integer as DOUBLE, and are cast as they insert)."""
    relation = qualified(target.schema, target.name)
    table = cur.execute(SQL.describe(SQL.select_all(relation))).fetchall()
    have_typed = [(str(r[0]), str(r[1])) for r in table]
    have = [c for c, _ in have_typed]
    described = cur.execute(f"describe select * from {source}").fetchall()
    got = [(str(row[0]), str(row[1])) for row in described]
    lower_have, lower_got = {h.lower() for h in have}, {g.lower() for g, _ in got}
    added = [(c, t) for c, t in got if c.lower() not in lower_have]
    removed = [c for c in have if c.lower() not in lower_got]
    old_types = {c.lower(): t for c, t in have_typed}
    # a column typed NULL (``null as x``) takes any type: not a change
    retyped = [
        (c, old_types[c.lower()], t)
        for c, t in got
        if types
        and c.lower() in old_types
        and t != old_types[c.lower()]
        and t.strip('"') != "NULL"  # DuckDB prints the type of `null as x` quoted
    ]
    if not added and not removed and not retyped:
        return None
    policy = target.on_schema_change
    if policy == "ignore":  # dbt's meaning: the table's columns and types stay
        new = {c for c, _ in added}
        kept = ", ".join(quote(c) for c, _ in got if c not in new)
        return f"(select {kept} from {source})"
    if policy in ("append_new_columns", "sync_all_columns"):
        for column, kind in added:
            cur.execute(f"alter table {relation} add column {quote(column)} {kind}")
        if policy == "sync_all_columns":
            for column in removed:
                cur.execute(f"alter table {relation} drop column {quote(column)}")
            for column, _, kind in retyped:  # existing rows are cast; one that cannot fails
                cur.execute(f"alter table {relation} alter column {quote(column)} type {kind}")
        return source
    changes = [
        f"{what} column{'s' if len(cols) > 1 else ''} " + ", ".join(f'"{c}"' for c in cols)
        for what, cols in (("new", [c for c, _ in added]), ("missing", removed))
        if cols
    ]
    if changes:
        changes[-1] += f" (the table has {', '.join(have)})"
    changes += [f'"{c}" is now {t} (the table\'s is {old})' for c, old, t in retyped]
    raise SchemaChangeError(
        f"the model's columns changed since {target.schema}.{target.name} was built: "
        f"{' and '.join(changes)}\n"
        f"hint: set on_schema_change ('append_new_columns', 'sync_all_columns' or "
        f"'ignore'), or rebuild it with `teal build -s {target.model} --full-refresh`"
    )
