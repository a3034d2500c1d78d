"""The columns a model declares in YAML, and its contract.

dbt's shape: a model's ``columns:`` entries may give a ``data_type``, and
``config: {contract: {enforced: true}}`` makes the list the model's whole output: a SQL
model whose query would produce other columns or types is an error before anything runs
(``teal validate``, runtime/validate.py), and a Python asset's declared columns are what
teal knows of its output without running it (column lineage, compiler/column_lineage.py).

>>> spec = {"name": "orders", "columns": [{"name": "id", "data_type": "bigint"}, {"name": "x"}]}
>>> declared_columns(spec, "models/schema.yml")
(DeclaredColumn(name='id', data_type='BIGINT', path='models/schema.yml', line=None), \
DeclaredColumn(name='x', data_type=None, path='models/schema.yml', line=None))
>>> contract_enforced({"contract": {"enforced": True}}), contract_enforced({})
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from teal.compiler.errors import LineageError, ProjectError, TealError, did_you_mean

if TYPE_CHECKING:
    from teal.compiler.project import Model


class DeclaredColumn(NamedTuple):
    """One column of a model's YAML entry."""

    name: str
    data_type: str | None  # upper case as written (``DECIMAL(18, 2)``), None when not given
    path: str  # the YAML file, for messages
    line: int | None


def declared_columns(spec: Mapping[str, Any], display: str) -> tuple[DeclaredColumn, ...]:
    """The ``columns:`` of one YAML model entry, in order (entries without a name skipped)."""
    out = []
    for column in spec.get("columns") or []:
        if not isinstance(column, Mapping) or not column.get("name"):
            continue
        data_type = column.get("data_type")
        out.append(
            DeclaredColumn(
                name=str(column["name"]),
                data_type=None if data_type is None else " ".join(str(data_type).upper().split()),
                path=display,
                line=getattr(column, "line", None),
            )
        )
    return tuple(out)


def contract_enforced(config: Mapping[str, Any]) -> bool:
    """Whether a model's settled config enforces its contract (``contract: {enforced: true}``)."""
    contract = config.get("contract")
    return isinstance(contract, Mapping) and contract.get("enforced") is True


def check_contract_config(value: Any, *, path: str, line: int | None) -> None:
    """A ``contract`` config value is ``{enforced: true|false}``."""
    if (
        not isinstance(value, Mapping)
        or set(value) - {"enforced"}
        or not isinstance(value.get("enforced", False), bool)
    ):
        raise ProjectError(
            f"contract must be {{enforced: true}} or {{enforced: false}}, got {value!r}",
            path=path,
            line=line,
            hint="write config: {contract: {enforced: true}} and list the columns with data_type",
        )


def contract_errors(model: Model, names: tuple[str, ...] | None) -> list[TealError]:
    """What breaks ``model``'s enforced contract, given the columns its query produces
    (``names``, None when unknown: nothing to say before it runs). The columns must be the
    declared ones, in any order; types are checked by runtime/type_check.py."""
    if not contract_enforced(model.config) or not model.declared or names is None:
        return []
    declared = [c.name.lower() for c in model.declared]
    out: list[TealError] = []
    for column in model.declared:
        if column.name.lower() not in names:
            out.append(
                LineageError(
                    f"{model.name} declares column '{column.name}' under an enforced "
                    f"contract, but its query does not produce it (it produces: "
                    f"{', '.join(names)})",
                    path=column.path,
                    line=column.line,
                    hint=did_you_mean(column.name.lower(), names)
                    or "add the column to the query, or remove it from the YAML",
                )
            )
    extra = [n for n in names if n not in declared]
    if extra:
        out.append(
            LineageError(
                f"{model.name} produces column{'s' if len(extra) > 1 else ''} "
                f"{', '.join(extra)} that its enforced contract does not declare",
                path=model.display_path,
                line=model.line or 1,
                hint="declare them in the YAML columns, or leave them out of the query",
            )
        )
    return out


_ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "LONG": "BIGINT",
    "INT2": "SMALLINT",
    "SHORT": "SMALLINT",
    "INT1": "TINYINT",
    "FLOAT4": "FLOAT",
    "REAL": "FLOAT",
    "FLOAT8": "DOUBLE",
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "BOOL": "BOOLEAN",
    "LOGICAL": "BOOLEAN",
    "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
    "DATETIME": "TIMESTAMP",
    "DECIMAL": "DECIMAL(18,3)",
    "NUMERIC": "DECIMAL(18,3)",
}


def canonical_type(kind: str) -> str:
    """A DuckDB type name compared without case, spacing or aliases.

    >>> canonical_type("numeric(10, 2)") == canonical_type("DECIMAL(10,2)")
    True
    >>> canonical_type("int8"), canonical_type("text")
    ('BIGINT', 'VARCHAR')
    """
    text = re.sub(r"\s*([(),])\s*", r"\1", " ".join(kind.upper().split()))
    text = text.replace("NUMERIC(", "DECIMAL(")
    return _ALIASES.get(text, text)
