"""Files a run leaves for people and scripts: ``target/run_results.json``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from teal.compiler.config import ProjectConfig
from teal.compiler.replaced_files import replace_with
from teal.runtime.results import BuildResult

if TYPE_CHECKING:
    from teal.compiler.project import Project


def write_run_results(
    cfg: ProjectConfig, result: BuildResult, command: str, project: Project | None = None
) -> None:
    """Write the result of a run to ``target/run_results.json`` (atomically replaced).

    Nothing is written for an in-memory warehouse or a project made in code. A dbt project
    gets dbt's run_results.json and manifest.json instead (runtime/dbt_artifacts.py)."""
    if cfg.config_path.name.startswith("<"):
        return
    if cfg.dbt is not None and project is not None:
        from teal.runtime.dbt_artifacts import run_results

        write_dbt_artifacts(project, run_results(project, result, command))
        return
    if str(cfg.warehouse_path) == ":memory:":
        return
    target = cfg.root / "target"
    try:
        payload = {"command": command, **result.to_dict()}
        replace_with(target / "run_results.json", json.dumps(payload, indent=2, default=str))
    except OSError:
        pass  # the build result stands even if target/ is not writable


def write_dbt_artifacts(project: Project, results: dict[str, Any]) -> None:
    """A dbt project's ``target/run_results.json`` (``results``) and ``manifest.json``."""
    from teal.runtime.dbt_artifacts import manifest, write_json

    target = project.config.root / "target"
    write_json(target, "run_results.json", results)
    write_json(target, "manifest.json", manifest(project))
