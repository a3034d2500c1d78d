"""dbt's ``--state DIR``: each node of the project compared with DIR/manifest.json, for the
``state:new`` and ``state:modified`` selectors and dbt's sub-selectors of the second
(``state:modified.body`` ...). What differs is named per node, one aspect each, as dbt's
``StateSelectorMethod`` names them (``ASPECTS``):

- ``body``: the file's checksum (dbt's ``same_body``: its text);
- ``configs``: a config that changes what is built (``COMPARED_CONFIGS``, compared as they
  apply, None and dbt's defaults as unset), or a pre-/post-hook's SQL as written;
- ``relation``: ``database``, ``schema`` and ``alias`` as configured, not as the target
  resolves them;
- ``persisted_descriptions``: the node's description (``persist_docs: {relation: true}``)
  or its columns' descriptions (``columns: true``), compared only where the node persists
  them, as dbt does;
- ``macros``: a macro it calls, directly or through other macros, changed
  (compiler/dbt/macro_state.py);
- ``contract``: the contract is enforced now and was not (or the reverse), or, enforced,
  its columns' names or data types differ.

A node is modified when any aspect differs, or its ``fqn`` (its folder) does, which dbt's
``state:modified`` counts too and no sub-selector names. A new node (no old node of its
unique_id) is selected by every sub-selector but ``modified.macros``, which selects it when
it calls a changed macro (dbt's checks are ``not old or ...``).

Without ``--state`` teal's ``state:`` selectors compare with what the warehouse last built
(compiler/selection.py); with it, with the manifest, as in dbt's CI recipes
(``dbt build -s state:modified+ --state prod-artifacts/``). The manifest may come from dbt or
from teal (both write ``checksum`` as the sha256 of the node's file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError
from teal.compiler.selection import STATE_ASPECTS

# configs whose change changes what is built; None and dbt's defaults count as unset
COMPARED_CONFIGS = (
    "materialized",
    "enabled",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "full_refresh",
    "strategy",
    "updated_at",
    "check_cols",
    "column_types",
    "delimiter",
    "quote_columns",
    "hard_deletes",
)
_DEFAULTS: dict[str, tuple[object, ...]] = {
    "on_schema_change": ("ignore",),
    "enabled": (True,),
    "delimiter": (",",),
    "quote_columns": (False,),
    "column_types": ({},),
    "hard_deletes": ("ignore",),
}


def read_manifest(state_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``nodes``, ``macros`` and ``unit_tests`` of DIR/manifest.json, each by
    unique_id; a missing or unreadable file is a located error (dbt fails the same way)."""
    path = state_dir / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            f"--state {state_dir}: there is no manifest.json in it",
            path=str(path),
            hint="point --state at the target/ folder of a previous dbt or teal run",
        ) from None
    except (OSError, ValueError) as exc:
        raise ProjectError(
            f"--state {state_dir}: manifest.json cannot be read ({exc})",
            path=str(path),
            hint="point --state at the target/ folder of a previous dbt or teal run",
        ) from None
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        raise ProjectError(
            "manifest.json has no 'nodes' mapping",
            path=str(path),
            line=1,
            hint="point --state at the target/ folder of a previous dbt or teal run",
        )
    found = {"nodes": nodes}
    for key in ("macros", "unit_tests"):
        value = data.get(key)
        found[key] = value if isinstance(value, dict) else {}
    return found


def _unset(key: str, value: object) -> bool:
    return value is None or value in _DEFAULTS.get(key, ())


def _config_differs(old: dict[str, Any], new: dict[str, Any], resource_type: str) -> bool:
    default_materialized = {"seed": "seed", "snapshot": "snapshot"}.get(resource_type, "view")
    for key in COMPARED_CONFIGS:
        if key == "on_schema_change" and resource_type == "snapshot":
            continue  # dbt's snapshots have none (teal's adds columns as they appear)
        before, after = old.get(key), new.get(key)
        if key == "materialized":
            before, after = before or default_materialized, after or default_materialized
        if _unset(key, before) and _unset(key, after):
            continue
        if key == "incremental_strategy" and before is None:
            continue  # dbt records no strategy when the adapter's default is used
        if isinstance(before, list) and isinstance(after, (list, tuple)):
            if list(before) != list(after):
                return True
        elif before != after:
            return True
    return any(_hooks(old, key) != _hooks(new, key) for key in _HOOK_KEYS)


_HOOK_KEYS = ("pre-hook", "post-hook")


def _hooks(config: dict[str, Any], key: str) -> list[str]:
    """A node's ``pre-hook`` or ``post-hook`` SQL as written (unrendered), as dbt's manifest
    holds them (``{sql, transaction, index}`` each) or a project file writes them (text)."""
    hooks = config.get(key) or []
    if not isinstance(hooks, list):
        hooks = [hooks]
    return [str(h.get("sql", "") if isinstance(h, dict) else h).strip() for h in hooks]


def _relation_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a node's relation is configured otherwise: its ``database``, ``schema`` and
    ``alias`` as configured (the node's ``config``), not as resolved, as dbt compares them,
    so that a manifest made with another target (production's schema) does not make every
    node modified. A manifest whose configs leave a key out (one cut down by hand) is
    compared on the resolved name.

    >>> node = {"schema": "analytics", "config": {"schema": None}}
    >>> _relation_differs(node, {"schema": "dev_ada", "config": {"schema": None}})
    False
    >>> _relation_differs(node, {"schema": "dev_ada_x", "config": {"schema": "x"}})
    True
    """
    old_config, new_config = old.get("config") or {}, new.get("config") or {}
    for key in ("database", "schema", "alias"):
        if key in old_config:
            was, now = old_config.get(key), new_config.get(key)
        elif key == "database":
            continue
        else:
            was, now = old.get(key), new.get(key)
        if str(was or "").lower() != str(now or "").lower():
            return True
    return False


def compare_nodes(
    entries: dict[str, dict[str, Any]],
    old_nodes: dict[str, Any],
    macros: dict[str, Any] | None = None,
    old_macros: dict[str, Any] | None = None,
) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each node name's state ("new" | "modified" | "unmodified") against ``old_nodes``,
    and the ``ASPECTS`` whose sub-selector selects it (``entries``: this load's manifest
    entries by name; ``macros``: its macros, compared with ``old_macros``,
    compiler/dbt/macro_state.py).

    >>> old = {"model.p.a": {"checksum": {"checksum": "1"}, "config": {}, "fqn": ["p", "a"]}}
    >>> a = {"unique_id": "model.p.a", "checksum": {"checksum": "2"}, "config": {},
    ...      "resource_type": "model", "fqn": ["p", "a"]}
    >>> states, changes = compare_nodes({"a": a}, old)
    >>> states["a"], sorted(changes["a"])
    ('modified', ['body'])
    >>> states, changes = compare_nodes({"b": {**a, "unique_id": "model.p.b"}}, old)
    >>> states["b"], "macros" in changes["b"], "contract" in changes["b"]
    ('new', False, True)
    """
    from teal.compiler.dbt.macro_state import changed_macros, reaches_changed

    macros = macros or {}
    changed = changed_macros(macros, old_macros or {}) if old_macros is not None else set()
    states: dict[str, str] = {}
    aspects: dict[str, frozenset[str]] = {}
    for name, entry in entries.items():
        used = (entry.get("depends_on") or {}).get("macros") or []
        by_macros = bool(changed) and reaches_changed(list(used), macros, changed)
        old = old_nodes.get(entry["unique_id"])
        if not isinstance(old, dict):
            states[name] = "new"
            aspects[name] = _EVERY_BUT_MACROS | ({"macros"} if by_macros else set())
            continue
        differs = {
            "body": (old.get("checksum") or {}).get("checksum") != entry["checksum"]["checksum"],
            "relation": _relation_differs(old, entry),
            "configs": _config_differs(
                old.get("config") or {}, entry.get("config") or {}, entry["resource_type"]
            ),
            "persisted_descriptions": _persisted_descriptions_differ(old, entry),
            "macros": by_macros,
            "contract": _contract_differs(old, entry),
        }
        aspects[name] = frozenset(k for k, v in differs.items() if v)
        moved = "fqn" in old and list(old.get("fqn") or []) != list(entry.get("fqn") or [])
        states[name] = "modified" if aspects[name] or moved else "unmodified"
    return states, aspects


# the sub-selectors of state:modified (dbt's ``modified.<aspect>``)
ASPECTS = STATE_ASPECTS
_EVERY_BUT_MACROS = frozenset(a for a in ASPECTS if a != "macros")


def _persist_docs(entry: dict[str, Any], part: str) -> bool:
    found = (entry.get("config") or {}).get("persist_docs")
    return isinstance(found, dict) and bool(found.get(part))


def _persisted_descriptions_differ(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """dbt's ``same_persisted_description``: the descriptions the node writes into the
    warehouse (its ``persist_docs`` now, relation and columns) differ from the old node's;
    a description a node does not persist never counts.

    >>> docs = {"config": {"persist_docs": {"relation": True}}, "description": "Orders"}
    >>> _persisted_descriptions_differ(docs, {**docs, "description": "All orders"})
    True
    >>> _persisted_descriptions_differ({"description": "a"}, {"description": "b"})
    False
    """
    if _persist_docs(new, "relation") and (old.get("description") or "") != (
        new.get("description") or ""
    ):
        return True
    if _persist_docs(new, "columns"):
        return _column_field(old, "description") != _column_field(new, "description")
    return False


def _column_field(entry: dict[str, Any], key: str) -> dict[str, str]:
    columns = entry.get("columns")
    if not isinstance(columns, dict):
        return {}
    return {
        str(name): str((c.get(key) if isinstance(c, dict) else None) or "")
        for name, c in columns.items()
    }


def _enforced(entry: dict[str, Any]) -> bool:
    """Whether a node's contract is enforced: its config's ``contract`` (teal's and dbt's
    manifests), else the node's own ``contract`` (dbt's)."""
    for found in ((entry.get("config") or {}).get("contract"), entry.get("contract")):
        if isinstance(found, dict) and "enforced" in found:
            return found.get("enforced") is True
    return False


def _contract_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """dbt's ``same_contract``: enforced now and not before (or the reverse), or enforced in
    both with other columns or data types (dbt's contract checksum of the columns' names
    and types; teal reads no constraints, so they are not compared).

    >>> on = {"config": {"contract": {"enforced": True}},
    ...       "columns": {"id": {"name": "id", "data_type": "integer"}}}
    >>> _contract_differs({"config": {}}, on), _contract_differs(on, on)
    (True, False)
    >>> _contract_differs(on, {**on, "columns": {"id": {"name": "id", "data_type": "bigint"}}})
    True
    """
    before, after = _enforced(old), _enforced(new)
    if not before and not after:
        return False
    if before != after:
        return True
    return _column_field(old, "data_type") != _column_field(new, "data_type")
