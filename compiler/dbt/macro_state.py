"""The macros of a dbt project as manifest.json records them, and which macros each node
depends on, so that ``state:modified`` with ``--state DIR`` sees a node whose macros changed
(dbt's ``state:modified.macros``, part of ``state:modified``).

A macro's record is its block as written (``{% macro name(...) %} ... {% endmacro %}``,
or a ``{% test %}`` block as the macro ``test_<name>``), dbt's ``macro_sql``. What a node or a
macro calls is read from its text, as dbt's static parser does: ``name(``, ``package.name(``
and ``adapter.dispatch('name', 'namespace')`` (each ``duckdb__``/``default__`` candidate of
the search order). A node is modified when a macro it depends on, directly or through other
macros, has a different ``macro_sql`` in the old manifest (or is not in it). dbt's own
built-in macros are not compared: teal's are its own DuckDB versions, not dbt's text.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

_BLOCK = re.compile(r"\{%-?\s*(macro|test)\s+(\w+).*?\{%-?\s*end(?:macro|test)\s*-?%\}", re.S)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_CALL = re.compile(r"(?<![\w.])(?:(\w+)\.)?(\w+)\s*\(")
_DISPATCH = re.compile(
    r"adapter\.dispatch\(\s*['\"](\w+)['\"]\s*(?:,\s*(?:macro_namespace\s*=\s*)?['\"](\w+)['\"])?"
)
INTERNAL = "dbt"


def macro_blocks(loader: DbtLoader) -> dict[str, dict[str, Any]]:
    """Every macro of the project and its packages, by unique id, as manifest records."""
    out: dict[str, dict[str, Any]] = {}
    for package, display, text in loader.macro_sources:
        for m in _BLOCK.finditer(text):
            name = m.group(2) if m.group(1) == "macro" else f"test_{m.group(2)}"
            uid = f"macro.{package}.{name}"
            sql = m.group(0)
            out[uid] = {
                "unique_id": uid,
                "name": name,
                "package_name": package,
                "original_file_path": display,
                "path": display,
                "resource_type": "macro",
                "macro_sql": sql,
                "checksum": {
                    "name": "sha256",
                    "checksum": hashlib.sha256(sql.encode()).hexdigest(),
                },
                "depends_on": {"macros": calls(loader, sql, package)},
            }
    return out


def calls(loader: DbtLoader, text: str, package: str) -> list[str]:
    """The unique ids of the macros ``text`` (of ``package``) calls."""
    jinja = loader.jinja
    found: list[str] = []

    def add(pkg: str, name: str) -> None:
        uid = f"macro.{pkg}.{name}"
        if name in jinja.macros.get(pkg, {}) and uid not in found:
            found.append(uid)

    root = loader.settings.project.name
    jinja_text = " ".join(_JINJA.findall(text))  # calls are in {{ }} and {% %}, not the SQL
    for m in _CALL.finditer(jinja_text):
        qualifier, name = m.group(1), m.group(2)
        if qualifier is not None:
            if qualifier in jinja.macros:
                add(qualifier, name)
            continue
        for pkg in (package, root, INTERNAL):
            if name in jinja.macros.get(pkg, {}):
                add(pkg, name)
                break
    for m in _DISPATCH.finditer(jinja_text):
        name, namespace = m.group(1), m.group(2)
        order = loader.settings.dispatch.get(namespace or "") or (root, namespace or INTERNAL)
        for pkg in order:
            for prefix in ("duckdb", "default"):
                add(pkg, f"{prefix}__{name}")
    return found


def node_macros(loader: DbtLoader, raw: str, package: str) -> list[str]:
    """What a node's own text calls (its ``depends_on.macros``)."""
    return calls(loader, raw, package)


def changed_macros(macros: dict[str, Any], old: dict[str, Any]) -> set[str]:
    """Macros (not dbt's built-ins) whose text differs from the old manifest's, or that it
    does not have."""
    changed = set()
    for uid, entry in macros.items():
        if entry["package_name"] == INTERNAL:
            continue
        before = old.get(uid)
        if not isinstance(before, dict) or before.get("macro_sql") != entry["macro_sql"]:
            changed.add(uid)
    return changed


def reaches_changed(start: list[str], macros: dict[str, Any], changed: set[str]) -> bool:
    """Whether a changed macro is among ``start`` or what they call, transitively."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if uid in changed:
            return True
        todo += (macros.get(uid) or {}).get("depends_on", {}).get("macros", [])
    return False
