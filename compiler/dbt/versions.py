"""dbt model versions: ``versions:`` and ``latest_version:`` in a model's YAML entry.

Each version is a model of its own, as in dbt: its file is the version's ``defined_in``, else
``<name>_v<v>.sql``, else (for the latest version only) ``<name>.sql``; its relation is
``<name>_v<v>`` (dbt's ``generate_alias_name`` for a versioned node); its unique id
``model.<package>.<name>.v<v>``. In teal it is the model named ``<name>_v<v>``, so
``teal build -s kind_totals_v2`` selects one version. ``ref('name')`` gives the latest
version (``latest_version``, else the highest), ``ref('name', v=1)`` (or ``version=1``)
that version. Each version's properties are the model's entry with the version's own
``config``, ``description`` and ``columns`` over it (``include``/``exclude`` choose which of
the model's columns, and their tests, a version keeps; dbt's rules).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


@dataclass
class Versioned:
    """A model with ``versions:``: its versions in the YAML's order, which is latest, and
    the teal model name of each version found (filled in by :func:`apply_versions`)."""

    name: str
    package: str
    entry: Any
    display: str
    latest: str
    versions: list[tuple[str, Any]]  # (version, its YAML entry)
    names: dict[str, str] = field(default_factory=dict)  # version -> teal model name


def version_text(value: Any) -> str:
    """A version as dbt formats it (``2``, ``2.1``; a float ``2.0`` is ``2``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_versions(loader: DbtLoader, entry: Any, display: str, package: str) -> None:
    """Record a model entry's ``versions:`` (called for every model entry that has one)."""
    name = str(entry["name"])
    line = getattr(entry, "line", None)
    found = entry.get("versions")
    if not isinstance(found, list) or not found:
        loader.errors.append(
            ProjectError(
                f"versions: of model '{name}' must be a list of {{v: ...}} entries",
                path=display,
                line=line,
                hint="write versions: [{v: 1}, {v: 2}]",
            )
        )
        return
    versions: list[tuple[str, Any]] = []
    for item in found:
        if not isinstance(item, dict) or item.get("v") is None:
            loader.errors.append(
                ProjectError(
                    f"every version of model '{name}' needs v:",
                    path=display,
                    line=getattr(item, "line", line),
                    hint="write - v: 2",
                )
            )
            return
        versions.append((version_text(item["v"]), item))
    texts = [v for v, _ in versions]
    latest = entry.get("latest_version")
    if latest is None:
        latest_text = max(texts, key=_order)
    else:
        latest_text = version_text(latest)
        if latest_text not in texts:
            at = getattr(entry, "keys_at", {}).get("latest_version", (line, None))
            loader.errors.append(
                ProjectError(
                    f"latest_version: {latest_text} of model '{name}' is not one of its "
                    f"versions ({', '.join(texts)})",
                    path=display,
                    line=at[0],
                    col=at[1],
                    hint="name one of the versions listed under versions:",
                )
            )
            return
    loader.versioned[name] = Versioned(name, package, entry, display, latest_text, versions)


def _order(version: str) -> tuple[float, str]:
    try:
        return float(version), version
    except ValueError:
        return float("-inf"), version


def apply_versions(loader: DbtLoader) -> None:
    """Turn the model file of each declared version into that version's node (renamed
    ``<name>_v<v>``, with its merged YAML entry); a version without a file is a warning,
    as dbt's "did not find a matching node" is."""
    from teal.compiler.dbt.discovery import add_node

    for model in loader.versioned.values():
        for version, item in model.versions:
            stem = str(item.get("defined_in") or f"{model.name}_v{version}")
            node = loader.nodes.get(f"model.{model.package}.{stem}")
            if node is None and version == model.latest:
                stem = model.name
                node = loader.nodes.get(f"model.{model.package}.{stem}")
            if node is None:
                at = getattr(item, "keys_at", {}).get("v", (getattr(item, "line", None), None))
                loader.warnings.append(
                    ProjectError(
                        f"version {version} of model '{model.name}' has no file: {stem}.sql "
                        "was not found",
                        path=model.display,
                        line=at[0],
                        col=at[1],
                        hint="add the file, or set defined_in: to the file's name (no .sql)",
                    )
                )
                continue
            del loader.nodes[node.unique_id]
            loader.by_name[stem].remove(node)
            if not loader.by_name[stem]:
                del loader.by_name[stem]
            node.name = f"{model.name}_v{version.replace('.', '_')}"
            node.base_name, node.version = model.name, version
            node.fqn = [*node.fqn[:-1], model.name, f"v{version}"]
            node.yaml, node.yaml_display = version_entry(model.entry, item), model.display
            model.names[version] = node.name
            add_node(loader, node)


def version_entry(entry: Any, item: Any) -> Any:
    """The properties of one version: the model's entry with the version's over it."""
    merged = copy.copy(entry)
    for key in ("versions", "latest_version"):
        merged.pop(key, None)
    config = copy.copy(entry.get("config") or {})
    config.update(item.get("config") or {})
    merged["config"] = config
    for key in ("description", "docs", "meta", "tags", "data_tests", "tests", "constraints"):
        if item.get(key) is not None:
            merged[key] = item[key]
    if item.get("columns") is not None:
        merged["columns"] = _columns(entry.get("columns") or [], item["columns"])
    return merged


def _columns(base: list[Any], own: list[Any]) -> list[Any]:
    """dbt's column inheritance: the model's columns the version includes (all unless
    ``include:`` lists some) minus ``exclude:``, with the version's own columns replacing
    those of the same name."""
    include: Any = "all"
    exclude: list[str] = []
    defined = []
    for column in own:
        if isinstance(column, dict) and ("include" in column or "exclude" in column):
            include = column.get("include", "all")
            exclude = [str(c) for c in column.get("exclude") or []]
        elif isinstance(column, dict) and column.get("name"):
            defined.append(column)
    names = {str(c["name"]) for c in defined}
    kept = [
        c
        for c in base
        if isinstance(c, dict)
        and (include in ("all", "*") or str(c.get("name")) in [str(i) for i in include])
        and str(c.get("name")) not in exclude
        and str(c.get("name")) not in names
    ]
    return kept + defined


def resolve_version(
    loader: DbtLoader, name: str, package: str | None, version: Any
) -> tuple[str, TealError | None]:
    """The teal model name ``ref(name, v=version)`` reads: the version asked for, else the
    latest; ``name`` itself when the model has no versions (and no version was asked)."""
    model = loader.versioned.get(name)
    if model is None or (package is not None and model.package != package):
        if version is None:
            return name, None
        return name, loader.jinja.error(
            f"ref('{name}', v={version_text(version)}): '{name}' has no versions",
            hint=f"declare versions: for '{name}' in its YAML entry, or drop v=",
            pattern=r"ref\s*\(\s*['\"]" + name,
        )
    wanted = model.latest if version is None else version_text(version)
    if wanted not in model.names:
        listed = ", ".join(v for v, _ in model.versions)
        return name, loader.jinja.error(
            f"ref('{name}', v={wanted}): model '{name}' has no version {wanted} with a file",
            hint=f"its versions: {listed} (latest {model.latest})",
            pattern=r"ref\s*\(\s*['\"]" + name,
        )
    return model.names[wanted], None
