"""dbt's ``--defer --state DIR`` as teal's deferral (compiler/deferral.py).

dbt reads an unselected, unbuilt upstream where ``DIR/manifest.json`` says production
built it: the node's ``database``, ``schema`` and ``alias``. On DuckDB a database is a
file, so teal needs the file: the one ``--defer-to PATH`` names, or else the output of the
project's profile whose database (its ``database:``, or its path's stem, as dbt-duckdb
names it) is the manifest's. The relations are the manifest's schema and alias, which
may differ from this target's (a dev schema, a ``generate_schema_name``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.deferral import Deferral
from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.project import Project


def manifest_deferral(
    project: Project, state_dir: Path, defer_to: Path | None, favor_state: bool
) -> Deferral:
    """The deferral ``--defer --state DIR`` asks for: each model's relation in the
    manifest, read from ``defer_to`` or the profile's output of the manifest's database."""
    from teal.compiler.dbt.state import read_manifest

    dbt = project.config.dbt
    assert dbt is not None
    manifest_path = state_dir / "manifest.json"
    nodes = read_manifest(state_dir)["nodes"]
    relations: dict[str, tuple[str, str]] = {}
    databases: dict[str, list[str]] = {}
    known: set[str] = set()
    for name, entry in project.dbt_nodes.items():
        uid = entry.get("unique_id") if isinstance(entry, dict) else None
        node = nodes.get(uid) if isinstance(uid, str) else None
        if not isinstance(node, dict) or name not in project.models:
            continue
        known.add(name)
        schema, alias = node.get("schema"), node.get("alias") or node.get("name")
        if not isinstance(schema, str) or not isinstance(alias, str):
            continue
        relations[name] = (schema, alias)
        database = node.get("database")
        if isinstance(database, str) and database:
            databases.setdefault(database, []).append(name)

    def deferral(path: Path) -> Deferral:
        return Deferral(
            path, favor_state, relations, "--defer --state", None, state_dir, frozenset(known)
        )

    if defer_to is not None:
        return deferral(defer_to)
    if not databases:
        raise ProjectError(
            f"--defer: the manifest in {state_dir} names no database for its models, so "
            "teal cannot tell which DuckDB file production built them in",
            path=str(manifest_path),
            hint="pass --defer-to PATH, production's DuckDB file",
        )
    if len(databases) > 1:
        raise ProjectError(
            "--defer: the manifest's models are in several databases ("
            + ", ".join(sorted(databases))
            + "); teal defers to one DuckDB file",
            path=str(manifest_path),
            hint="pass --defer-to PATH, production's DuckDB file",
        )
    database = next(iter(databases))
    if database == dbt.target.database:
        raise ProjectError(
            f"--defer: the manifest's database '{database}' is this target's own; teal "
            "defers to another DuckDB file, not to other schemas of the same one",
            path=str(manifest_path),
            hint="build production in its own file (a profile output with another path), "
            "or select the upstream models too",
        )
    path = _output_path(project, database)
    if path is None:
        raise ProjectError(
            f"--defer: the manifest's database '{database}' is not a DuckDB file teal can "
            f"find: no output of profile '{dbt.target.profile}' in {dbt.target.profiles_path} "
            "is that database",
            path=str(manifest_path),
            hint=f"pass --defer-to PATH (the file of database '{database}'), or add a "
            f"duckdb output whose path is {database}.duckdb",
        )
    return deferral(path)


def _output_path(project: Project, database: str) -> Path | None:
    """The file of the profile's output whose database is ``database``, resolved as the
    target's own path is (relative to the project)."""
    from teal.compiler.dbt.settings import find_profiles, read_target

    dbt = project.config.dbt
    assert dbt is not None
    root = project.config.root
    profiles = find_profiles(root, Path(dbt.target.profiles_path).parent)
    if profiles is None:
        return None
    import yaml

    try:
        data: Any = yaml.safe_load(profiles.read_text(encoding="utf-8")) or {}
        outputs = data[dbt.target.profile]["outputs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    for name in outputs if isinstance(outputs, dict) else ():
        warnings: list[TealError] = []
        try:
            target = read_target(
                root, dbt.target.profile, str(name), profiles.parent, dbt.cli_vars, warnings
            )
        except TealError:
            continue
        if target.database == database and target.path != ":memory:":
            return (root / target.path).resolve()
    return None
