"""The relation of each dbt node (stage 3 of the load, compiler/dbt/loader.py): schema, alias
and database from ``generate_schema_name``, ``generate_alias_name`` and
``generate_database_name`` (the project's own macro, or dbt's default), and the checks
that two nodes do not build one relation or share one name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.nodes import (
    Node,
    default_alias,
    default_database,
    default_schema,
    node_dict,
)
from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


def settle_relations(loader: DbtLoader) -> None:
    loader.jinja.phase = "parse"
    own = loader.jinja.macros.get(loader.settings.project.name, {})
    # dbt's defaults computed here unless the project overrides them (a macro call costs
    # about a millisecond, three per node)
    gen_schema: Any = default_schema
    gen_alias: Any = default_alias
    gen_db: Any = default_database
    if "generate_schema_name" in own:
        gen_schema = loader.jinja.find_macro("generate_schema_name")
    if "generate_alias_name" in own:
        gen_alias = loader.jinja.find_macro("generate_alias_name")
    if "generate_database_name" in own:
        gen_db = loader.jinja.find_macro("generate_database_name")
    seen: dict[str, Node] = {}
    for node in loader.nodes.values():
        if not node.enabled or node.resource_type in ("test", "analysis"):
            continue
        loader.jinja.state.node = node
        try:
            ndict = node_dict(node, loader.settings)
            if node.resource_type == "snapshot" and node.config.get("target_schema"):
                schema = str(node.config["target_schema"])
            else:
                schema = str(gen_schema(node.config.get("schema"), ndict)).strip()
            alias = str(gen_alias(node.config.get("alias"), ndict)).strip()
            database = str(gen_db(node.config.get("database"), ndict)).strip()
        except TealError as exc:
            loader.errors.append(exc)
            continue
        finally:
            loader.jinja.state.node = None
        node.schema, node.alias, node.database = schema, alias, database
        if database and database != loader.settings.target.database:
            loader.errors.append(
                ProjectError(
                    f"'{node.name}' is configured for database '{database}', but teal builds into "
                    f"the target's one DuckDB file ({loader.settings.target.database})",
                    path=node.display,
                    line=1,
                    hint="remove the database config",
                )
            )
        rel = f"{schema}.{alias}".lower()
        if node.materialized != "ephemeral":
            if rel in seen:
                other = seen[rel]
                loader.errors.append(
                    ProjectError(
                        f"'{other.name}' ({other.display}) and '{node.name}' both build relation {rel}",
                        path=node.display,
                        line=1,
                        hint="give one of them another schema or alias",
                    )
                )
            seen[rel] = node
    check_names(loader)


def check_names(loader: DbtLoader) -> None:
    """Two enabled resources with one name: ref() could not tell them apart."""
    for name, nodes in loader.by_name.items():
        live = [n for n in nodes if n.enabled and n.package == loader.settings.project.name]
        if len(live) > 1:
            loader.errors.append(
                ProjectError(
                    f"two resources are named '{name}': {live[0].display} and {live[1].display}",
                    path=live[1].display,
                    line=1,
                    hint="rename one of them",
                )
            )
