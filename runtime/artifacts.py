"""Files a run leaves for people and scripts: ``target/run_results.json``."""

from __future__ import annotations

import json
import os

from teal.compiler.config import ProjectConfig
from teal.runtime.results import BuildResult


def write_run_results(cfg: ProjectConfig, result: BuildResult, command: str) -> None:
    """Write the result of a run to ``target/run_results.json`` (atomically replaced).

    Nothing is written for an in-memory warehouse or a project made in code."""
    if str(cfg.warehouse_path) == ":memory:" or cfg.config_path.name.startswith("<"):
        return
    target = cfg.root / "target"
    try:
        target.mkdir(exist_ok=True)
        payload = {"command": command, **result.to_dict()}
        tmp = target / "run_results.json.tmp"
        tmp.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, target / "run_results.json")
    except OSError:
        pass  # the build result stands even if target/ is not writable
