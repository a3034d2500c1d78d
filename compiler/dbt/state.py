"""dbt's ``--state DIR``: each node of the project compared with DIR/manifest.json, for the
``state:new`` and ``state:modified`` selectors (dbt's semantics: a node is new when the old
manifest has no node of its unique_id, modified when its file's body, its relation as
configured (database, schema, alias: not as the target resolves them), a config that changes what is built, or a macro it calls (directly or through other
macros, compiler/dbt/macro_state.py) differs).

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
    return False


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
) -> dict[str, str]:
    """Each node name's state ("new" | "modified" | "unmodified") against ``old_nodes``
    (``entries``: this load's manifest entries by name; ``macros``: its macros, compared
    with ``old_macros``, compiler/dbt/macro_state.py)."""
    from teal.compiler.dbt.macro_state import changed_macros, reaches_changed

    macros = macros or {}
    changed = changed_macros(macros, old_macros or {}) if old_macros is not None else set()
    states: dict[str, str] = {}
    for name, entry in entries.items():
        old = old_nodes.get(entry["unique_id"])
        if not isinstance(old, dict):
            states[name] = "new"
            continue
        body = (old.get("checksum") or {}).get("checksum") != entry["checksum"]["checksum"]
        relation = _relation_differs(old, entry)
        configs = _config_differs(
            old.get("config") or {}, entry.get("config") or {}, entry["resource_type"]
        )
        used = (entry.get("depends_on") or {}).get("macros") or []
        by_macros = bool(changed) and reaches_changed(list(used), macros, changed)
        states[name] = "modified" if body or relation or configs or by_macros else "unmodified"
    return states
