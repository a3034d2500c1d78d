"""A model's rows read back into Python: what a notebook looks at after a build.

The warehouse is opened read-only for the read and closed after it, so the session holds
nothing open between calls and the next build can open the file: a notebook's own
``duckdb.connect(path, read_only=True)`` left open would stop that build (DuckDB shares one
open database among a process's connections, all read-only or all not).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.errors import ProjectError, WarehouseError
from teal.warehouse.engine import open_engine

if TYPE_CHECKING:
    import pyarrow as pa

    from teal.runtime.session import Session


def read_model(session: Session, name: str, limit: int | None = None) -> pa.Table:
    """``name``'s relation as the warehouse holds it now, as an Arrow table (its first
    ``limit`` rows when given). A model with no relation (ephemeral, not built yet, kept
    by an I/O manager that offers none) is a located error that says why."""
    model = session.project.model(name)  # an unknown name: an error with the closest names
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    if model.materialized == "ephemeral":
        raise ProjectError(
            f"model '{name}' is ephemeral: it has no relation of its own, it is inlined "
            "into the models that read it",
            path=model.display_path,
            hint="read a model that selects from it, or make it a view or a table",
        )
    config = session.config
    if config.engine == "duckdb" and not Path(config.warehouse_path).exists():
        raise _not_built(name, model.display_path, "the warehouse has not been built yet")
    with open_engine(
        config, read_only=config.engine == "duckdb", sources=session.project.sources
    ) as wh:
        if wh.catalog().kind(model.schema, model.alias) is None:
            kept = model.io_manager not in (None, "warehouse")
            raise _not_built(
                name,
                model.display_path,
                f"its I/O manager '{model.io_manager}' keeps its data and offers no view "
                "in the warehouse"
                if kept
                else f"{model.relation} is not in the warehouse",
            )
        if limit is None:
            return wh.read_relation(model.schema, model.alias)
        return wh.preview(model.schema, model.alias, limit)


def _not_built(name: str, path: str, why: str) -> WarehouseError:
    return WarehouseError(
        f"cannot read model '{name}': {why}",
        path=path,
        hint=f"build it first: session.build('{name}')",
    )
