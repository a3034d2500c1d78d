"""The records of column lineage, apart from the code that computes them.

Kept free of sqlglot so that reading lineage from the cache (a warm ``teal compile``,
``teal lineage``) imports no parser; compiler/columns.py traces one query into these
records, compiler/column_lineage.py a whole project.

>>> c = ColumnLineage("total", (Edge("aggregate", "stg_orders", "amount"),), True)
>>> c.edge_texts()
['aggregate:stg_orders.amount']
>>> m = ModelColumns("m", (c,), (), "", False)
>>> decode(encode(m)) == m
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NamedTuple

# The kinds of edge, most telling first: when a column reaches the same upstream column in
# several ways, the edge keeps the first kind of this order.
KINDS = ("copy", "transform", "aggregate", "join", "filter")
# kinds that decide which rows appear rather than what a value is
ROW_KINDS = frozenset({"join", "filter"})


class Edge(NamedTuple):
    """One upstream column an output column depends on."""

    kind: str  # one of KINDS
    table: str  # the upstream model's name, "source.table", or a table function's SQL
    column: str  # lower case


class ColumnLineage(NamedTuple):
    """One output column and its edges, sorted by table, column."""

    name: str  # lower case
    edges: tuple[Edge, ...]
    resolved: bool  # every column it reads was traced to a table (or it reads none)

    def edge_texts(self) -> list[str]:
        """``kind:table.column`` per edge (the manifest's and the tests' notation)."""
        return [f"{e.kind}:{e.table}.{e.column}" for e in self.edges]


class MissingColumn(NamedTuple):
    """A reference to a column that a known schema does not have."""

    column: str  # as written
    table: str  # what the query calls the table it looked in ("o", "stg_orders"), or ""
    upstream: str  # the upstream model or "source.table" it reads there, or "" (a CTE)
    line: int | None  # position of the reference (1-based)
    col: int | None
    candidates: tuple[str, ...]  # the columns it could have meant


class QueryColumns(NamedTuple):
    """What tracing one query found."""

    columns: tuple[ColumnLineage, ...] | None  # None: unknown (a ``*`` over unknown columns)
    missing: tuple[MissingColumn, ...]
    note: str  # why the columns are unknown or partly unresolved ("" when all is well)


# upstream key -> its columns (None: unknown)
Schemas = Mapping[str, "tuple[str, ...] | None"]


class ModelColumns(NamedTuple):
    """What is known of one model's columns."""

    model: str
    columns: tuple[ColumnLineage, ...] | None  # None: unknown
    missing: tuple[MissingColumn, ...]  # positions in the model's own file
    note: str  # why its columns are unknown or partly unresolved
    opaque: bool  # a Python asset: what its columns are made of is not known

    @property
    def names(self) -> tuple[str, ...] | None:
        return None if self.columns is None else tuple(c.name for c in self.columns)


class Resolution(NamedTuple):
    """How much of a project's lineage is known.

    >>> str(Resolution(9, 10, 2, ("m",)))
    'lineage resolved for 9 of 10 columns (90.0 %); 2 columns of Python assets are opaque, \
the columns of 1 models are unknown'
    """

    resolved: int  # SQL model columns traced to upstream columns (or to constants)
    total: int  # SQL model columns whose names are known
    opaque: int  # Python asset columns: known names, lineage not inferred
    unknown: tuple[str, ...]  # SQL models whose columns are not known at all

    def __str__(self) -> str:
        text = f"lineage resolved for {self.resolved} of {self.total} columns"
        if self.total:
            text += f" ({100 * self.resolved / self.total:.1f} %)"
        extra = []
        if self.opaque:
            extra.append(f"{self.opaque} columns of Python assets are opaque")
        if self.unknown:
            extra.append(f"the columns of {len(self.unknown)} models are unknown")
        return text + ("; " + ", ".join(extra) if extra else "")


class Use(NamedTuple):
    """A column of a model reading an upstream column."""

    model: str
    column: str
    kind: str


# A model's columns as plain tuples, the form the lineage cache stores: unpickling 50,000
# named tuples costs 0.1 s, plain tuples a tenth of that, and a warm ``teal compile`` of
# 1,000 models costs about 0.15 s in all. Decoded one model at a time when asked for.
PlainModel = tuple[
    str,  # model
    "tuple[tuple[str, tuple[tuple[str, str, str], ...], bool], ...] | None",  # columns
    "tuple[tuple[str, str, str, int | None, int | None, tuple[str, ...]], ...]",  # missing
    str,  # note
    bool,  # opaque
]


def encode(model: ModelColumns) -> PlainModel:
    """``model`` as plain tuples (see :data:`PlainModel`)."""
    columns = (
        None
        if model.columns is None
        else tuple((c.name, tuple(tuple(e) for e in c.edges), c.resolved) for c in model.columns)
    )
    missing = tuple(tuple(m) for m in model.missing)
    return (model.model, columns, missing, model.note, model.opaque)  # type: ignore[return-value]


def decode(plain: PlainModel) -> ModelColumns:
    """The :class:`ModelColumns` that :func:`encode` made ``plain`` from."""
    name, columns, missing, note, opaque = plain
    return ModelColumns(
        name,
        None
        if columns is None
        else tuple(
            ColumnLineage(c, tuple(Edge(*e) for e in edges), resolved)
            for c, edges, resolved in columns
        ),
        tuple(MissingColumn(*m) for m in missing),
        note,
        opaque,
    )


class ModelTable(Mapping[str, ModelColumns]):
    """Model name -> :class:`ModelColumns`, decoded from the plain form on first access."""

    def __init__(self, plain: Mapping[str, PlainModel]) -> None:
        self.plain = plain
        self._decoded: dict[str, ModelColumns] = {}

    def __getitem__(self, name: str) -> ModelColumns:
        found = self._decoded.get(name)
        if found is None:
            found = self._decoded[name] = decode(self.plain[name])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.plain)

    def __len__(self) -> int:
        return len(self.plain)
