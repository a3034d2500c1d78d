"""Metadata recorded with each materialization: what a Python model returned with its data
(``teal.Output(data, metadata={...})``) and the figures a model's ``metadata`` config asks
for, SQL aggregates evaluated over the model once it is built::

    {{ config(metadata={'latest_order': 'max(ordered_at)', 'customers': 'count(distinct customer_id)'}) }}

They are stored per materialization in the run store and shown by ``teal runs show``.
Evaluating them is one query, run only for models that ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
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


def json_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``metadata`` (a ``teal.Output``'s) with each value in its JSON form, and the names
    of the values that have none, with their types (left out; the caller warns).

    NumPy scalars become the Python number or boolean they hold, NumPy arrays lists,
    datetimes, dates and times ISO text, decimals exact text (as a metadata expression's),
    paths text; lists, tuples and mappings are converted inside.

    >>> from decimal import Decimal
    >>> json_metadata({"at": date(2026, 1, 2), "cost": Decimal("1.50"), "tags": ("a",)})
    ({'at': '2026-01-02', 'cost': '1.50', 'tags': ['a']}, {})
    >>> json_metadata({"n": 3, "raw": object()})
    ({'n': 3}, {'raw': 'object'})
    """
    kept: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    for name, value in metadata.items():
        try:
            kept[name] = _json_value(value)
        except _NoJson as exc:
            dropped[name] = exc.kind
    return kept, dropped


class _NoJson(Exception):
    def __init__(self, value: object) -> None:
        super().__init__(type(value).__name__)
        kind = type(value)
        self.kind = kind.__name__ if kind.__module__ == "builtins" else kind.__qualname__
        module = kind.__module__.split(".")[0]
        if module not in ("builtins", "__main__"):
            self.kind = f"{module}.{self.kind}"


def _json_value(value: Any) -> Any:
    """``value`` as JSON holds it, or :class:`_NoJson` (for it or a value inside it)."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        if getattr(getattr(value, "dtype", None), "kind", "") in ("M", "m"):
            return str(value)  # datetime64 / timedelta64: .tolist() may give nanoseconds
        if getattr(value, "dtype", None) is not None and value.dtype.kind == "O":
            raise _NoJson(value)
        return _json_value(value.tolist())
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for key, inner in value.items():
            key = _json_value(key)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise _NoJson(key)
            out[str(key) if not isinstance(key, str) else key] = _json_value(inner)
        return out
    raise _NoJson(value)
