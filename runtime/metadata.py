"""Metadata recorded with each materialization: what a Python model returned with its data
(``teal.Output(data, metadata={...})``) and the figures a model's ``metadata`` config asks
for, SQL aggregates evaluated over the model once it is built::

    {{ config(metadata={'latest_order': 'max(ordered_at)', 'customers': 'count(distinct customer_id)'}) }}

They are stored per materialization in the run store and shown by ``teal runs show``.
Evaluating them is one query, run only for models that ask.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from teal.compiler.project import Model
from teal.warehouse.engine import EngineCursor


def evaluate_metadata(cur: EngineCursor, model: Model) -> dict[str, Any]:
    """The values of ``model``'s metadata expressions over its relation as built; an
    expression that fails gives its error as the value (the model is built either way)."""
    from teal.compiler.sql import quote_identifier

    wanted: dict[str, str] = dict(model.config.get("metadata") or {})
    relation = cur.relation_sql(model.schema, model.alias)
    select = ", ".join(f"{expr} AS {quote_identifier(name)}" for name, expr in wanted.items())
    try:
        table = cur.load(f"SELECT {select} FROM {relation}", "arrow")
    except Exception as exc:  # noqa: BLE001 - a bad expression is reported, not fatal
        return {"metadata_error": str(exc).splitlines()[0]}
    row = table.to_pylist()[0] if table.num_rows else {}
    return {name: plain(row.get(name)) for name in wanted}


def plain(value: Any) -> Any:
    """A value as JSON can hold it (times as ISO text, decimals as text, exactly)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
