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
    if policy in ("ignore", "append_new_columns"):  # dbt's meaning: a column's type stays
        for column, old, kind in retyped:  # a new value the cast would change is refused
            _refuse_lossy(cur, target, source, column, kind, old, policy=policy)
    if policy == "ignore" or (policy == "append_new_columns" and retyped):
        # the retyped columns cast to the table's types here, explicitly, rather than by
        # the insert: a merge's delete compares its keys in the table's types too
        left_out = {c for c, _ in added} if policy == "ignore" else set()
        cast = {c: old for c, old, _ in retyped}
        kept = ", ".join(
            f"cast({quote(c)} as {cast[c]}) as {quote(c)}" if c in cast else quote(c)
            for c, _ in got
            if c not in left_out
        )
        source = f"(select {kept} from {source})"
    if policy in ("append_new_columns", "sync_all_columns"):
        for column, kind in added:
            cur.execute(f"alter table {relation} add column {quote(column)} {kind}")
        if policy == "sync_all_columns":
            for column in removed:
                cur.execute(f"alter table {relation} drop column {quote(column)}")
            for column, old, kind in retyped:  # existing rows are cast; one that changes fails
                _refuse_lossy(
                    cur, target, relation, column, old, kind, policy=policy, old_rows=True
                )
                cur.execute(f"alter table {relation} alter column {quote(column)} type {kind}")
    if policy != "fail":
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
        f"'ignore'), or {target.rebuild_hint}"
    )


def _refuse_lossy(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    rows: str,
    column: str,
    kind: str,
    into: str,
    *,
    policy: str,
    old_rows: bool = False,
) -> None:
    """Raise SchemaChangeError if a value of ``column`` (of type ``kind``) in ``rows``
    would change when cast to ``into``: DuckDB's cast rounds a DECIMAL to fewer places
    (1.2549 to 1.25) and cuts a TIMESTAMP to a DATE without an error, so money and times
    would be lost silently. A value the cast cannot hold at all (an overflow) is one too.
    ``old_rows``: ``rows`` is the table (sync_all_columns changing its column's type),
    else the model's new rows (a policy that keeps the table's type)."""
    name = quote(column)
    back = f"try_cast(try_cast({name} as {into}) as {kind})"
    row = cur.execute(
        f"select {name}::varchar, try_cast({name} as {into})::varchar from {rows} "
        f"where {name} is not null and {back} is distinct from {name} limit 1"
    ).fetchone()
    if row is None:
        return
    value, cast = row
    becomes = "cannot be stored" if cast is None else f"would become {cast}"
    if not old_rows:
        what = (
            f'"{column}" is now {kind} and {target.schema}.{target.name} keeps its {into} '
            f"(on_schema_change '{policy}'): the new value {value} {becomes}"
        )
        hint = "set on_schema_change to 'sync_all_columns' to change the column's type"
    else:
        what = (
            f"on_schema_change '{policy}' would change \"{column}\" of "
            f"{target.schema}.{target.name} from {kind} to {into}: its value {value} {becomes}"
        )
        hint = f"cast the column to {kind} in the model's query to keep the table's type"
    raise SchemaChangeError(f"{what}\nhint: {hint}, or {target.rebuild_hint}")
