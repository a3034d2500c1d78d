"""What a node's or a source's YAML properties say of it in dbt's manifest: its
``description`` and ``columns`` (name, description, data_type, meta, tags, ...), with
``{{ doc('name') }}`` rendered to its docs block, as dbt's docs site reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.nodes import Node
from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


def node_properties(loader: DbtLoader, node: Node, description: str) -> dict[str, Any]:
    """The manifest fields of ``node`` from its YAML entry (``description`` rendered)."""
    entry = node.yaml if isinstance(node.yaml, dict) else {}
    out: dict[str, Any] = {
        "description": description,
        "columns": columns(loader, entry, node.yaml_display, node),
        "meta": dict(node.config.get("meta") or {}),
    }
    if node.yaml_display:
        out["patch_path"] = f"{node.package}://{node.yaml_display}"
    return out


def source_properties(loader: DbtLoader, info: dict[str, Any]) -> dict[str, Any]:
    """A source table's manifest fields: its and its source's descriptions, its columns,
    meta and tags."""
    table, source, display = info["entry"], info["source_entry"], info["display"]
    meta = {**_mapping(source.get("meta")), **_mapping(table.get("meta"))}
    tags = [*_strings(source.get("tags")), *_strings(table.get("tags"))]
    return {
        "description": rendered(loader, table.get("description"), display, table, None),
        "source_description": rendered(loader, source.get("description"), display, source, None),
        "columns": columns(loader, table, display, None),
        "meta": meta,
        "source_meta": _mapping(source.get("meta")),
        "tags": list(dict.fromkeys(tags)),
        "patch_path": None,
    }


def columns(loader: DbtLoader, entry: Any, display: str, node: Node | None) -> dict[str, Any]:
    """dbt's ``columns`` of a YAML entry: name -> its ColumnInfo."""
    out: dict[str, Any] = {}
    listed = entry.get("columns") if isinstance(entry, dict) else None
    for column in listed if isinstance(listed, list) else []:
        if not isinstance(column, dict) or not column.get("name"):
            continue  # the tests' reader reports a column without a name
        config = _mapping(column.get("config"))
        name = str(column["name"])
        data_type = column.get("data_type", config.get("data_type"))
        out[name] = {
            "name": name,
            "description": rendered(loader, column.get("description"), display, column, node),
            "meta": {**_mapping(column.get("meta")), **_mapping(config.get("meta"))},
            "data_type": None if data_type is None else str(data_type),
            "constraints": [],
            "quote": column.get("quote"),
            "tags": list(
                dict.fromkeys([*_strings(column.get("tags")), *_strings(config.get("tags"))])
            ),
        }
    return out


def rendered(loader: DbtLoader, text: Any, display: str, entry: Any, node: Node | None) -> str:
    """A description as dbt renders it (``{{ doc('x') }}`` the docs block's text)."""
    text = "" if text is None else str(text)
    if "{{" not in text and "{%" not in text:
        return text
    jinja = loader.jinja
    state = jinja.state
    held, state.node = state.node, node
    try:
        return str(jinja.render(jinja.template(text, display), display, text))
    except TealError as exc:
        raise ProjectError(
            exc.message, path=display, line=getattr(entry, "line", None), hint=exc.hint
        ) from None
    finally:
        state.node = held


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []
