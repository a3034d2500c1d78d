"""Folder configs of the root ``dbt_project.yml`` that apply to nothing: each a located
warning (an error under ``--strict``), never silence.

dbt warns "Configuration paths exist in your dbt_project.yml file which do not apply to
any resources" for a path under ``models:``, ``seeds:``, ``snapshots:`` or ``data_tests:``
that matches no node (a misspelt folder, a folder since deleted, a missing project name
level): its ``+materialized``, ``+schema``, ``+enabled`` ... are lost. teal says so at the
path's line, with the closest names. A key without ``+`` that is neither a folder (a
mapping) nor a config teal knows is dropped by the config walk
(compiler/dbt/configure.py ``tree_config``), so it is a warning too (``materialised:
table``). The ``sources:`` and ``unit_tests:`` trees are read but not applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.nodes import CONFIG_KEYS, DICT_CONFIGS
from teal.compiler.errors import ProjectError, did_you_mean

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

# dbt_project.yml section -> the resource types whose fqns its paths name
SECTIONS: dict[str, tuple[str, ...]] = {
    "models": ("model",),
    "seeds": ("seed",),
    "snapshots": ("snapshot",),
    # a generic test is configured through the folders of the node it tests
    "data_tests": ("test", "model", "seed", "snapshot"),
}
NOT_APPLIED = ("sources", "unit_tests")


def warn_unused_config_paths(loader: DbtLoader) -> None:
    """Append to ``loader.warnings`` one warning per config path of the root project's
    dbt_project.yml that names no node (enabled or not), and per unknown plain key."""
    project = loader.settings.project
    for section, kinds in SECTIONS.items():
        tree = project.configs.get(section)
        if not isinstance(tree, dict):
            continue
        fqns = [tuple(n.fqn) for n in loader.nodes.values() if n.resource_type in kinds]
        for path, level, key in _paths(tree, ()):
            line, col = getattr(level, "keys_at", {}).get(key, (None, None))
            if key is not None and not isinstance(level.get(key), dict):
                loader.warnings.append(
                    ProjectError(
                        f"'{key}' under {section}.{'.'.join(path)} is not a config teal "
                        "knows and not a folder: it is ignored",
                        path=project.display,
                        line=line,
                        col=col,
                        hint=did_you_mean(key, CONFIG_KEYS)
                        or f"write a custom config as '+{key}' (config.get('{key}') reads it)",
                    )
                )
                continue
            if _used(path, fqns, section):
                continue
            names = {
                f[len(path) - 1]
                for f in fqns
                if len(f) >= len(path) and f[: len(path) - 1] == path[:-1]
            }
            loader.warnings.append(
                ProjectError(
                    f"config path {section}.{'.'.join(path)} in dbt_project.yml applies to "
                    "no node: its configs are ignored",
                    path=project.display,
                    line=line,
                    col=col,
                    hint=did_you_mean(path[-1], names)
                    or "the path is the project's name, then folders under the "
                    f"{section} path, then a file's name (dbt warns: unused configuration path)",
                )
            )
    for section in NOT_APPLIED:
        if section in project.configs:
            line, col = _at_top(loader, section)
            loader.warnings.append(
                ProjectError(
                    f"{section}: configs in dbt_project.yml are read but not applied by teal",
                    path=project.display,
                    line=line,
                    col=col,
                    hint=f"set them in the YAML entry's config: of each of the {section}",
                )
            )


def _paths(
    tree: dict[str, Any], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any, str | None]]:
    """(path, the mapping holding it, its key) for each folder mapping under ``tree`` (the
    key is the last element of the path); (path, mapping, key) with the key of each plain
    key that is neither a config nor a folder, to warn about."""
    for raw_key, value in tree.items():
        key = str(raw_key)
        if key.startswith("+"):
            continue
        if isinstance(value, dict) and key not in DICT_CONFIGS:
            yield (*path, key), tree, key
            yield from _paths(value, (*path, key))
        elif key not in CONFIG_KEYS and path:
            yield path, tree, key


def _used(path: tuple[str, ...], fqns: list[tuple[str, ...]], section: str) -> bool:
    """Whether a node's fqn starts with ``path`` (dbt's rule); under data_tests the last
    element may also name a test in a folder nodes live in."""
    n = len(path)
    if any(f[:n] == path for f in fqns):
        return True
    return section == "data_tests" and any(f[: n - 1] == path[:-1] for f in fqns)


def _at_top(loader: DbtLoader, section: str) -> tuple[int | None, int | None]:
    from teal.compiler.yamlfile import parse_yaml

    root = loader.settings.project.root
    text = (root / "dbt_project.yml").read_text(encoding="utf-8")
    data = parse_yaml(text, loader.settings.project.display, [])
    return getattr(data, "keys_at", {}).get(section, (None, None))
