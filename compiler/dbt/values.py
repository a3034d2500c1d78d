"""The values dbt's Jinja context hands to templates: ``api.Relation`` (what ``ref``,
``source`` and ``this`` give), ``api.Column``, the agate-like table ``run_query`` returns,
and dicts whose keys read as attributes (``target.schema``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from teal.compiler.checks import TARGET
from teal.compiler.deferral import CATALOG


class Relation(Mapping):
    """``api.Relation``: what ``ref``, ``source`` and ``this`` return.

    A Mapping, as dbt's relations are: macros test ``obj is mapping`` and read
    ``obj.get('metadata').type`` to tell a relation from a string (dbt_utils's
    ``_is_relation``). Its keys are its attributes; it cannot be iterated, as in dbt.
    """

    def __init__(
        self,
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        type: str | None = None,
        cte: str | None = None,
    ) -> None:
        self.database, self.schema, self.identifier = database, schema, identifier
        self.type = type
        self._cte = cte

    @classmethod
    def create(
        cls,
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        type: str | None = None,
        **_: Any,
    ) -> Relation:
        return cls(database, schema, identifier, type)

    @property
    def name(self) -> str | None:
        return self.identifier

    @property
    def table(self) -> str | None:
        return self.identifier

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_cte(self) -> bool:
        return self.type == "cte"

    @staticmethod
    def add_ephemeral_prefix(name: str) -> str:
        return f"__dbt__cte__{name}"

    def get(self, key: str, default: Any = None) -> Any:
        if key == "metadata":  # what dbt answers, so that dbt_utils sees a relation
            return {"type": "DuckDBRelation"}
        return getattr(self, key, default) if not key.startswith("_") else default

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a relation is not a dict: read its attributes")

    def __len__(self) -> int:
        raise TypeError("a relation is not a dict: read its attributes")

    def __bool__(self) -> bool:
        return True

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    def include(
        self, database: bool = True, schema: bool = True, identifier: bool = True
    ) -> Relation:
        return Relation(
            self.database if database else None,
            self.schema if schema else None,
            self.identifier if identifier else None,
            self.type,
        )

    def incorporate(
        self, path: Mapping[str, Any] | None = None, type: str | None = None, **_: Any
    ) -> Relation:
        path = path or {}
        return Relation(
            path.get("database", self.database),
            path.get("schema", self.schema),
            path.get("identifier", self.identifier),
            type or self.type,
        )

    def quote(self, *_: Any, **__: Any) -> Relation:
        return self

    def render(self) -> str:
        return str(self)

    def __str__(self) -> str:
        if self._cte is not None:
            return self._cte
        parts = [p for p in (self.schema, self.identifier) if p]
        if self.database == CATALOG and parts:  # a deferred ref: the attached production's
            parts.insert(0, CATALOG)
        return ".".join(f'"{p}"' for p in parts)

    def __html__(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<Relation {self}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Relation) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


_MISSING = object()


def is_audited(relation: Any) -> bool:
    """Whether ``relation`` is the placeholder of the relation a test audits, which the
    engine names when the test runs (compiler/dbt/test_render.py).

    >>> is_audited(Relation(cte=TARGET)), is_audited(Relation("db", "main", "orders"))
    (True, False)
    """
    return (
        isinstance(relation, Relation) and relation.identifier is None and (TARGET in str(relation))
    )


class Column:
    """``api.Column`` and what ``adapter.get_columns_in_relation`` returns."""

    TYPE_LABELS = {
        "STRING": "VARCHAR",
        "TIMESTAMP": "TIMESTAMP",
        "FLOAT": "FLOAT",
        "INTEGER": "INTEGER",
        "BOOLEAN": "BOOLEAN",
    }

    def __init__(self, column: str, dtype: str, **_: Any) -> None:
        self.column, self.name, self.dtype, self.data_type = column, column, dtype, dtype

    @classmethod
    def translate_type(cls, dtype: str) -> str:
        return cls.TYPE_LABELS.get(dtype.upper(), dtype)

    @classmethod
    def create(cls, name: str, label_or_dtype: str) -> Column:
        return cls(name, cls.translate_type(label_or_dtype))

    @property
    def quoted(self) -> str:
        return f'"{self.column}"'

    def is_string(self) -> bool:
        return self.dtype.upper().startswith(("VARCHAR", "TEXT", "STRING"))

    def string_size(self) -> int:
        """A text column's declared length (``VARCHAR(n)``); 256 when it has none, as dbt
        answers for a column without a size."""
        if not self.is_string():
            raise TypeError(f"column {self.column} is not a text column ({self.dtype})")
        size = self.dtype.partition("(")[2].rstrip(")").strip()
        return int(size) if size.isdigit() else 256

    def is_number(self) -> bool:
        return self.is_integer() or self.is_float() or self.is_numeric()

    def is_integer(self) -> bool:
        return self.dtype.upper() in ("INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "INT")

    def is_float(self) -> bool:
        return self.dtype.upper() in ("FLOAT", "DOUBLE", "REAL")

    def is_numeric(self) -> bool:
        return self.dtype.upper().startswith(("DECIMAL", "NUMERIC"))

    def __repr__(self) -> str:
        return f"<Column {self.column} ({self.dtype})>"


class Table:
    """The agate-like table ``run_query`` and ``load_result(...).table`` give."""

    def __init__(self, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.column_names = tuple(names)
        self.rows = [Row(names, r) for r in rows]

    @property
    def columns(self) -> _Columns:
        """agate's ``table.columns``: by position or by name, each with ``values()``."""
        return _Columns(
            self.column_names,
            [_ColumnValues([r[i] for r in self.rows]) for i in range(len(self.column_names))],
        )

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def print_table(self, *_: Any, **__: Any) -> None:
        for row in self.rows:
            print(tuple(row))


class _Columns(list):
    def __init__(self, names: tuple[str, ...], values: list[_ColumnValues]) -> None:
        super().__init__(values)
        self._names = list(names)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return list.__getitem__(self, self._names.index(key))
        return list.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


class _ColumnValues(list):
    def values(self) -> list[Any]:
        return list(self)


class Row(tuple):
    def __new__(cls, names: list[str], values: tuple[Any, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = list(names)  # type: ignore[attr-defined]
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))  # type: ignore[attr-defined]
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)  # type: ignore[attr-defined]

    def values(self) -> list[Any]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._names, self))  # type: ignore[attr-defined]


class AttrDict(dict):
    """A dict whose keys read as attributes too (``target.schema``, ``model.name``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None
