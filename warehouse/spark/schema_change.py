"""An incremental model's ``on_schema_change`` on Spark, as rows are added to its table.

When the model's query now has other columns than the table built earlier (by name):
``fail`` refuses; ``ignore`` writes the columns the table has (one the query lacks as
NULL); ``append_new_columns`` adds the new ones to the table, typed as the query types
them; ``sync_all_columns`` also drops the ones the query lacks. These are dbt's names and
meanings, and DuckDB's (teal.warehouse.duckdb.schema_change).

Spark has no transactions, so nothing is altered until the new rows have been audited:
:func:`align` only decides, the writer applies. A rewrite (an upsert, a plain table's
partition) selects the new column list from the old rows and the new, so it needs no
``ALTER``; an ``INSERT`` into a plain table first adds the new columns (``ALTER TABLE ...
ADD COLUMNS``; Parquet tables cannot drop one, so a column to drop makes the append a
rewrite); a partitioned model's data table (teal.warehouse.spark.layout) gets the new
columns added, keeps a dropped one (written as NULL from then on), and its view shows the
model's columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from teal.warehouse.engine import BuildTarget, SchemaChangeError
from teal.warehouse.spark.session import quote

if TYPE_CHECKING:
    from teal.warehouse.spark.session import SparkSQL


@dataclass(frozen=True)
class Aligned:
    """How the new rows (the *stage*) go into the table under the model's policy."""

    columns: tuple[str, ...]  # the relation's columns after the write, in order
    added: tuple[tuple[str, str], ...]  # columns to add to the table: (name, Spark type)
    dropped: tuple[str, ...]  # columns the relation loses (sync_all_columns)
    staged: frozenset[str]  # the stage's columns (lower case)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.dropped)

    def from_stage(self, names: tuple[str, ...] | list[str] | None = None) -> str:
        """The select list of ``names`` (default: :attr:`columns`) from the stage; a
        column the stage lacks as NULL."""
        return ", ".join(
            quote(c) if c.lower() in self.staged else f"NULL AS {quote(c)}"
            for c in (self.columns if names is None else names)
        )

    def from_table(self) -> str:
        """The select list of :attr:`columns` from the table as it is (not altered): an
        added column as a NULL of its type."""
        types = {c.lower(): t for c, t in self.added}
        return ", ".join(
            f"CAST(NULL AS {types[c.lower()]}) AS {quote(c)}" if c.lower() in types else quote(c)
            for c in self.columns
        )

    def add_columns(self, sql: SparkSQL, relation: str, has: Sequence[str] = ()) -> None:
        """Add :attr:`added` to table ``relation`` (a Spark name), but those of ``has``
        (columns it already has: a partitioned model's column dropped earlier, back)."""
        present = {h.lower() for h in has}
        adding = [(c, t) for c, t in self.added if c.lower() not in present]
        if adding:
            listed = ", ".join(f"{quote(c)} {t}" for c, t in adding)
            sql.run(f"ALTER TABLE {relation} ADD COLUMNS ({listed})")


def align(sql: SparkSQL, target: BuildTarget, stage: str) -> Aligned:
    """How the rows of ``stage`` (a Spark relation) go into the target's relation under
    its ``on_schema_change``; SchemaChangeError for ``fail`` when the columns differ."""
    have = list(sql.run(f"SELECT * FROM {sql.relation(target.schema, target.name)}").columns)
    fields = sql.run(f"SELECT * FROM {stage}").schema.fields
    got = [(f.name, f.dataType.simpleString()) for f in fields]
    lower_have, lower_got = {h.lower() for h in have}, {g.lower() for g, _ in got}
    added = tuple((c, t) for c, t in got if c.lower() not in lower_have)
    removed = tuple(c for c in have if c.lower() not in lower_got)
    policy = target.on_schema_change
    if not added and not removed or policy == "ignore":
        return Aligned(tuple(have), (), (), frozenset(lower_got))
    if policy == "append_new_columns":
        return Aligned(tuple(have) + tuple(c for c, _ in added), added, (), frozenset(lower_got))
    if policy == "sync_all_columns":
        kept = tuple(c for c in have if c.lower() in lower_got)
        columns = kept + tuple(c for c, _ in added)
        return Aligned(columns, added, removed, frozenset(lower_got))
    changes = [
        f"{what} column{'s' if len(cols) > 1 else ''} " + ", ".join(f'"{c}"' for c in cols)
        for what, cols in (("new", [c for c, _ in added]), ("missing", list(removed)))
        if cols
    ]
    raise SchemaChangeError(
        f"the model's columns changed since {target.relation} was built: "
        f"{' and '.join(changes)} (the table has {', '.join(have)})\n"
        f"hint: set on_schema_change ('append_new_columns', 'sync_all_columns' or "
        f"'ignore'), or {target.rebuild_hint}"
    )
