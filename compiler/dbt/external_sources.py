"""dbt-duckdb's sources that are no table: ``external_location`` and ``plugin``.

dbt-duckdb reads a source whose ``meta`` (or ``config``, on the source or its table) sets
``external_location`` from that file (``read_parquet('data/{name}.parquet')``), and one that
sets ``plugin`` through the plugin, instead of ``schema.table``. teal reads neither: such a
source rendered as ``"schema"."table"``, and the build failed later on a missing table (or,
worse, read a table of that name). So each is an error at the YAML line that sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

KEYS = ("external_location", "plugin")


def check_external_source(loader: DbtLoader, info: dict[str, Any]) -> None:
    """An error for ``info``'s source table when it, or its source, sets one of
    :data:`KEYS`; said once per place it is written."""
    table = f"{info['schema']}.{info['identifier']}"
    places = ((info["entry"], table), (info["source_entry"], f"tables of schema {info['schema']}"))
    for entry, instead in places:
        for holder in _holders(entry):
            for key in KEYS:
                if key not in holder:
                    continue
                line, col = getattr(holder, "keys_at", {}).get(
                    key, (getattr(holder, "line", None) or getattr(entry, "line", None), None)
                )
                error = ProjectError(
                    f"source '{info['source_entry'].get('name')}' sets {key} (dbt-duckdb), "
                    f"which teal does not support: teal would read {instead} instead",
                    path=str(info["display"]),
                    line=line,
                    col=col,
                    hint="read the file in a model (select * from read_parquet('...')) and "
                    "ref that model, or load the table before the build (on-run-start)",
                )
                if not any(_same(error, other) for other in loader.errors):
                    loader.errors.append(error)
                return


def _holders(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Where dbt-duckdb looks: ``meta``, ``config`` and ``config.meta``."""
    config = entry.get("config")
    found = [entry.get("meta"), config, config.get("meta") if isinstance(config, Mapping) else None]
    return [h for h in found if isinstance(h, Mapping)]


def _same(a: Exception, b: Exception) -> bool:
    return isinstance(b, ProjectError) and (
        a.args,
        getattr(a, "path", None),
        getattr(a, "line", None),
    ) == (b.args, b.path, b.line)
