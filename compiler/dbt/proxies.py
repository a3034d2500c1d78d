"""The node-dependent names of dbt's Jinja context (``var``, ``config``, ``this``, ``model``)
and ``adapter``: objects made once per load that read the node being rendered from the
loader, so macro modules are made once, not once per node.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.values import AttrDict, Column, Relation, Table, is_audited

if TYPE_CHECKING:
    from teal.compiler.dbt.context import DbtJinja


class VarProxy:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __call__(self, name: str, default: Any = ...) -> Any:
        return self._loader.var(name, default)

    def has_var(self, name: str) -> bool:
        return self._loader.var(name, None) is not None


class ConfigProxy:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return self._loader.config_call(*args, **kwargs)

    def get(self, key: str, default: Any = None, validator: Any = None) -> Any:
        return self._loader.config_get(key, default)

    def require(self, key: str, validator: Any = None) -> Any:
        value = self._loader.config_get(key, None)
        if value is None:
            raise self._loader.jinja.error(f"config '{key}' is required")
        return value

    def set(self, key: str, value: Any) -> str:
        return self._loader.config_call(**{key: value})

    def persist_relation_docs(self) -> bool:
        return False

    def persist_column_docs(self) -> bool:
        return False


class ThisProxy(Mapping):
    """``this``: the relation of the node being rendered (a Mapping, as a Relation is)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def _rel(self) -> Relation:
        return self._loader.this()

    def __getitem__(self, key: str) -> Any:
        return self._rel()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rel())

    def __len__(self) -> int:
        return len(self._rel())

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._rel(), name)

    def __str__(self) -> str:
        return str(self._rel())

    def __html__(self) -> str:
        return str(self)


class ModelProxy(Mapping):
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def _d(self) -> Mapping[str, Any]:
        return self._loader.model_dict()

    def __getitem__(self, key: str) -> Any:
        return self._d()[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._d()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._d())

    def __len__(self) -> int:
        return len(self._d())


class Adapter:
    """``adapter``: dispatch, quoting and (when executing) the warehouse."""

    def __init__(self, jinja: DbtJinja, execute: bool) -> None:
        self._jinja, self._execute = jinja, execute
        self.type = lambda: "duckdb"
        self.behavior = Behavior()

    def dispatch(
        self, macro_name: str, macro_namespace: str | None = None, packages: Any = None
    ) -> Any:
        return self._jinja.dispatch(macro_name, macro_namespace, packages)

    def quote(self, identifier: str) -> str:
        return '"' + str(identifier).replace('"', '""') + '"'

    def quote_as_configured(self, identifier: str, quote_key: str) -> str:
        return str(identifier)

    def quote_seed_column(self, column: str, quote_config: Any = None) -> str:
        return self.quote(column) if quote_config is not False else str(column)

    def execute(
        self, sql: str, auto_begin: bool = False, fetch: bool = False, limit: Any = None
    ) -> tuple[Any, Any]:
        if not self._execute:
            return AttrDict(_message="", code="", rows_affected=0), Table([], [])
        names, rows = self._jinja.loader.run_sql(str(sql))
        response = AttrDict(_message="OK", code="OK", rows_affected=len(rows))
        return response, Table(names, rows if fetch else [])

    def get_relation(self, database: Any = None, schema: Any = None, identifier: Any = None) -> Any:
        if not self._execute:
            return None
        kind = self._jinja.loader.relation_kind(str(schema), str(identifier), database)
        return Relation(database, schema, identifier, kind) if kind else None

    def load_relation(self, relation: Any) -> Any:
        """The relation as the warehouse has it (with its kind), or None when it does not
        exist (dbt's ``load_relation``). What a test audits exists when the test runs."""
        if is_audited(relation):
            return relation if self._execute else None
        return self.get_relation(
            getattr(relation, "database", None),
            getattr(relation, "schema", None),
            getattr(relation, "identifier", None),
        )

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        if not self._execute:
            return []
        return [Column(n, t) for n, t in self._jinja.loader.columns_of(relation)]

    def get_missing_columns(self, from_relation: Any, to_relation: Any) -> list[Column]:
        have = {c.name.lower() for c in self.get_columns_in_relation(to_relation)}
        return [
            c for c in self.get_columns_in_relation(from_relation) if c.name.lower() not in have
        ]

    def check_schema_exists(self, database: Any, schema: str) -> bool:
        return True

    def already_exists(self, schema: str, identifier: str) -> bool:
        return self.get_relation(None, schema, identifier) is not None

    def list_relations(self, database: Any = None, schema: Any = None) -> list[Relation]:
        return []

    def create_schema(self, relation: Any) -> str:
        return ""

    def drop_relation(self, relation: Any) -> str:
        return ""

    def commit(self) -> str:
        return ""


class Behavior:
    def __getattr__(self, name: str) -> Any:
        return AttrDict(no_warn=False, setting=False)


class Pytz:
    utc = _dt.UTC

    def timezone(self, name: str) -> Any:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
