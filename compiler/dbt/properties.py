"""The YAML properties files of a dbt project: models:, seeds:, snapshots: (and YAML
snapshots with ``relation:``), sources:, unit_tests:, exposures: (what ``+exposure:NAME``
selects); the semantic layer and groups are skipped without rendering.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.discovery import add_node
from teal.compiler.dbt.nodes import IGNORED_YAML, YAML_KEYS, Node
from teal.compiler.dbt.settings import Package
from teal.compiler.errors import ProjectError, TealError, did_you_mean

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

# what a models:/seeds:/snapshots:/analyses: entry may say (dbt's properties)
NODE_KEYS = (
    "name",
    "description",
    "config",
    "columns",
    "data_tests",
    "tests",
    "docs",
    "meta",
    "tags",
    "access",
    "group",
    "latest_version",
    "versions",
    "constraints",
    "deprecation_date",
    "time_spine",
    "relation",
    "freshness",
    "quote_columns",
    "column_types",
)


def read_properties(loader: DbtLoader) -> None:
    from teal.compiler.yamlfile import parse_yaml

    for package in loader._packages():
        folders = (
            *package.model_paths,
            *package.seed_paths,
            *package.snapshot_paths,
            *package.macro_paths,
            *package.analysis_paths,
            *package.test_paths,
        )
        for path in loader._files(package, tuple(dict.fromkeys(folders)), (".yml", ".yaml")):
            display = loader._display(path)
            try:
                data = parse_yaml(loader._read(path), display, loader.warnings)
            except TealError as exc:
                loader.errors.append(exc)
                continue
            if data is None:
                continue
            if not isinstance(data, dict):
                loader.errors.append(
                    ProjectError("a YAML properties file must be a mapping", path=display, line=1)
                )
                continue
            for key, value in data.items():
                line, col = getattr(data, "keys_at", {}).get(str(key), (None, None))
                if key == "exposures" and isinstance(value, list):
                    read_exposures(loader, value, display)
                    continue
                if key in IGNORED_YAML:
                    continue  # the semantic layer: read by dbt Cloud tools, not rendered
                if key not in YAML_KEYS:
                    loader.errors.append(
                        ProjectError(
                            f"unknown top-level key '{key}'",
                            path=display,
                            line=line,
                            col=col,
                            hint=did_you_mean(str(key), YAML_KEYS)
                            or "dbt properties files hold models:, sources:, seeds:, ...",
                        )
                    )
                    continue
                if value is None:
                    continue
                if not isinstance(value, list):
                    loader.errors.append(
                        ProjectError(
                            f"{key}: must be a list of entries, got {type(value).__name__} "
                            f"{value!r}",
                            path=display,
                            line=line,
                            col=col,
                            hint=f"write each entry on a line of its own under '{key}:', as "
                            "'  - name: <name>'",
                        )
                    )
                    continue
                lines = getattr(value, "lines", [])
                for i, entry in enumerate(value):
                    at = lines[i] if i < len(lines) else None
                    yaml_entry(loader, str(key), entry, display, package, at)


def read_exposures(loader: DbtLoader, entries: list[Any], display: str) -> None:
    """The ``exposures:`` of one properties file (compiler/exposures.py): their refs are
    found among the models when the project is assembled."""
    from teal.compiler.exposures import parse_exposures

    declared, errors, warnings = parse_exposures(entries, display, False)
    loader.exposures += declared
    loader.errors += errors
    loader.warnings += warnings


def yaml_entry(
    loader: DbtLoader,
    key: str,
    entry: Any,
    display: str,
    package: Package,
    item_line: int | None = None,
) -> None:
    line = getattr(entry, "line", None) or item_line
    if not isinstance(entry, dict) or not entry.get("name"):
        loader.errors.append(
            ProjectError(
                f"every entry under {key}: needs a name",
                path=display,
                line=line,
                hint="start the entry with '- name: <name>' (an entry is a mapping)",
            )
        )
        return
    name = str(entry["name"])
    if key == "sources":
        add_source(loader, entry, display, package)
    elif key == "unit_tests":
        loader.unit_tests.append((entry, display))
    elif key in ("models", "seeds", "snapshots", "analyses"):
        kind = key[:-1] if key != "analyses" else "analysis"
        other, other_display = loader.properties.get((kind, name), (None, None))
        other_line = getattr(other, "line", None)
        if other_display is not None and (other_display, other_line) != (display, line):
            both = (
                f"in {display}, on lines {other_line} and {line}"
                if other_display == display
                else f"in {other_display}:{other_line} and in {display}:{line}"
            )
            loader.errors.append(
                ProjectError(
                    f"{kind} '{name}' is described twice: {both}",
                    path=display,
                    line=line,
                    hint="keep one entry per node across YAML files",
                )
            )
            return
        loader.properties[(kind, name)] = (entry, display)
        _test_lists(loader, entry, f"{kind} '{name}'", display)
        for found in entry:  # a misspelt key would be ignored silently: say so
            if str(found) not in NODE_KEYS:
                at_line, at_col = getattr(entry, "keys_at", {}).get(str(found), (line, None))
                loader.warnings.append(
                    ProjectError(
                        f"unknown key '{found}' for {kind} '{name}': it is ignored",
                        path=display,
                        line=at_line,
                        col=at_col,
                        hint=did_you_mean(str(found), NODE_KEYS)
                        or "known: " + ", ".join(sorted(NODE_KEYS)),
                    )
                )
        if kind == "model" and (entry.get("versions") is not None):
            from teal.compiler.dbt.versions import read_versions

            read_versions(loader, entry, display, package.name)
        if kind == "snapshot" and entry.get("relation"):
            yaml_snapshot(loader, entry, display, package)


def _test_lists(loader: DbtLoader, entry: Any, owner: str, display: str) -> None:
    """An error for ``tests:``/``data_tests:`` of a node or one of its columns that is not
    a list, as dbt's schema refuses it (a text was read letter by letter as test names)."""
    from teal.compiler.dbt.tests import TEST_KEYS
    from teal.compiler.properties import check_list_problem

    columns = entry.get("columns")
    for item in (entry, *(columns if isinstance(columns, list) else [])):
        if not isinstance(item, dict):
            continue
        where = owner if item is entry else f"column '{item.get('name')}' of {owner}"
        problem = check_list_problem(item, where, display, TEST_KEYS)
        if problem is not None:
            loader.errors.append(problem)


def warn_unmatched(loader: DbtLoader) -> None:
    """A warning (an error under --strict) for each models:/seeds:/snapshots:/analyses:
    entry that names no node: its description, config and tests would be dropped
    silently, as a teal project's YAML says (compiler/properties.py). A disabled node, a
    versioned model and an analysis file count as existing."""
    found: dict[str, set[str]] = {}
    for node in loader.nodes.values():
        found.setdefault(node.resource_type, set()).add(node.name)
    found.setdefault("model", set()).update(loader.versioned)
    for package in loader._packages():
        for path in loader._files(package, package.analysis_paths, (".sql",)):
            found.setdefault("analysis", set()).add(path.stem)
    plural = {"model": "models", "seed": "seeds", "snapshot": "snapshots", "analysis": "analyses"}
    for (kind, name), (entry, display) in loader.properties.items():
        names = found.get(kind, set())
        if name in names:
            continue
        tests = " and its tests do not run" if _has_tests(entry) else ""
        loader.warnings.append(
            ProjectError(
                f"YAML describes {kind} '{name}', which does not exist: this entry is "
                f"ignored{tests}",
                path=display,
                line=getattr(entry, "line", None),
                hint=did_you_mean(name, names)
                or f"no {kind} is named '{name}' in the project's {plural[kind]} folders: "
                "remove the entry or fix its name",
            )
        )


def _has_tests(entry: Any) -> bool:
    columns = [c for c in entry.get("columns") or [] if isinstance(c, dict)]
    return any(item.get(key) for item in (entry, *columns) for key in ("data_tests", "tests"))


def add_source(loader: DbtLoader, entry: Any, display: str, package: Package) -> None:
    name = str(entry["name"])
    if name in loader.source_entries:
        other = loader.source_entries[name][1]
        loader.errors.append(
            ProjectError(
                f"source '{name}' is declared twice: in {other} and in {display}",
                path=display,
                line=getattr(entry, "line", None),
                hint="declare each source once",
            )
        )
        return
    loader.source_entries[name] = (entry, display, package.name)
    for table in entry.get("tables") or []:
        if not isinstance(table, dict) or not table.get("name"):
            loader.errors.append(
                ProjectError(
                    "every source table needs a name",
                    path=display,
                    line=getattr(table, "line", None),
                )
            )
            continue
        loader.sources[(name, str(table["name"]))] = {
            "entry": table,
            "name": f"{name}.{table['name']}",
            "source_entry": entry,
            "display": display,
            "package": package.name,
            "raw_schema": entry.get("schema") or name,
            "identifier": str(table.get("identifier") or table["name"]),
            "database": entry.get("database"),
            "schema": None,
        }


def yaml_snapshot(loader: DbtLoader, entry: Any, display: str, package: Package) -> None:
    name = str(entry["name"])
    relation = str(entry["relation"]).strip()
    raw = "select * from {{ " + relation + " }}"
    node = Node(
        "snapshot",
        package.name,
        name,
        package.root / display,
        display,
        # dbt's: the folders of its YAML file below the resource folder it is in
        [package.name, *resource_folders(package, loader.cfg.root / display), name],
        raw=raw,
    )
    node.yaml, node.yaml_display = entry, display
    add_node(loader, node)


def resource_folders(package: Package, path: Path) -> list[str]:
    """The folders of a YAML file (``path``) below the resource folder of ``package`` it is
    in (``snapshots/finance/x.yml`` -> ``[finance]``), as dbt puts them in the fqn of a
    snapshot the file declares."""
    try:
        rel = path.relative_to(package.root).as_posix()
    except ValueError:
        return []
    for folder in (
        *package.model_paths,
        *package.snapshot_paths,
        *package.seed_paths,
        *package.analysis_paths,
        *package.test_paths,
        *package.macro_paths,
    ):
        prefix = folder.strip("/") + "/"
        if rel.startswith(prefix):
            return rel[len(prefix) :].split("/")[:-1]
    return rel.split("/")[1:-1]
