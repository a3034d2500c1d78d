"""dbt's source freshness of a source table, from its YAML: ``freshness`` (``warn_after``,
``error_after``) and ``loaded_at_field``, on the table or inherited from its source, also
under ``config:`` (dbt 1.10 moved them there). A table's own ``freshness: null`` turns its
source's off, as in dbt. ``teal check --freshness`` evaluates them (runtime/freshness.py)
and manifest.json records them, as ``dbt source freshness`` and dbt's manifest do.
"""

from __future__ import annotations

from collections.abc import Mapping

from teal.compiler.errors import ProjectError, TealError

_UNSET = object()


def _own(entry: object, key: str) -> object:
    """``key`` of a YAML entry, else of its ``config:``; _UNSET when neither writes it."""
    if not isinstance(entry, Mapping):
        return _UNSET
    if key in entry:
        return entry[key]
    conf = entry.get("config")
    if isinstance(conf, Mapping) and key in conf:
        return conf[key]
    return _UNSET


def source_freshness(
    info: Mapping[str, object], warnings: list[TealError]
) -> tuple[tuple[tuple[str, int, str], ...], str | None]:
    """((severity, count, period), ...) and the loaded-at expression of one source table
    (``info``: the front end's record of it, compiler/dbt/properties.py ``add_source``).
    What teal does not apply (a freshness ``filter``, ``loaded_at_query``) is a warning
    appended to ``warnings``."""
    from teal.compiler.sources import _freshness

    table, source = info["entry"], info["source_entry"]
    display = str(info["display"])
    spec = _own(table, "freshness")
    spec = _own(source, "freshness") if spec is _UNSET else spec
    loaded = _own(table, "loaded_at_field")
    loaded = _own(source, "loaded_at_field") if loaded is _UNSET else loaded
    query = _own(table, "loaded_at_query")
    query = _own(source, "loaded_at_query") if query is _UNSET else query
    line = getattr(table, "line", None)

    def fail(message: str, hint: str | None = None) -> ProjectError:
        return ProjectError(message, path=display, line=line, hint=hint)

    if isinstance(spec, Mapping) and spec.get("filter") is not None:
        warnings.append(
            fail(
                f"freshness filter of source table {info['name']} is read but not applied: "
                "teal reads the newest loaded_at_field of the whole table",
                "remove filter: (it only limits what the freshness query scans)",
            )
        )
    if isinstance(spec, Mapping):
        spec = {k: v for k, v in spec.items() if k != "filter"}
    if query is not _UNSET and query is not None and spec not in (_UNSET, None):
        warnings.append(
            fail(
                f"loaded_at_query of source table {info['name']} is not supported by teal: "
                "its freshness is not evaluated",
                "use loaded_at_field: <column or expression> instead",
            )
        )
        return (), None
    freshness = _freshness(None if spec is _UNSET else spec, fail)
    if freshness and not (isinstance(loaded, str) and loaded.strip()):
        raise fail(
            f"source table {info['name']} has freshness but no loaded_at_field",
            "loaded_at_field: the column (or expression) holding when each row was loaded",
        )
    return freshness, str(loaded).strip() if freshness else None
