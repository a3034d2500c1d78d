"""The ``column:`` selector: models chosen by the column lineage of one column.

``column:stg_orders.amount`` is the model that has the column; ``column:stg_orders.amount+``
adds every model one of whose columns reads it, directly or through other models' columns
(the downstream impact of dropping or changing it: narrower than ``stg_orders+``, which
takes every model that reads any column of stg_orders); ``+column:...`` adds the models
whose columns it is made of. Depths count levels of models, as for ``+``. A source's
column (``column:src.orders.amount+``) selects the models that read it. A Python asset
that reads the model counts with everything downstream of it: its lineage is opaque.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from teal.compiler.errors import LineageError, SelectionError

if TYPE_CHECKING:
    from teal.compiler.column_lineage import ColumnGraph
    from teal.compiler.selection import Criterion

# what select_models is given to compute the graph when a column: criterion needs it
ColumnsProvider = Callable[[], "ColumnGraph"]


def column_matches(c: Criterion, columns: ColumnsProvider | None, expression: str) -> set[str]:
    """The models criterion ``c`` (method ``column``) selects, ``+`` included."""
    from teal.compiler.column_view import find_column

    def error(message: str, hint: str | None) -> SelectionError:
        return SelectionError(
            f"{message} (at position {c.offset + 1})",
            path="--select",
            col=c.offset + 1,
            hint=hint,
            source_line=expression,
        )

    if columns is None:
        raise error("column: selectors are not available here", None)
    graph = columns()
    try:
        ref = find_column(graph, c.value)
    except LineageError as exc:
        raise error(exc.message, exc.hint) from None
    if ref is None:
        raise error(f"column:{c.value} needs MODEL.COLUMN", "write column:stg_orders.amount+")
    models = graph.project.models
    chosen = {ref.key} if ref.key in models else set()
    if c.down:
        chosen |= graph.downstream_models(ref.key, ref.column, c.down_depth)
    if c.up:
        chosen |= {k for k in graph.upstream_models(ref.key, ref.column, c.up_depth) if k in models}
    return chosen
