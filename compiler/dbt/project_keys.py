"""The top-level keys of a ``dbt_project.yml``: one teal does not know is a located
warning (an error under ``--strict``), never silence.

dbt validates dbt_project.yml against its schema and fails on a key it does not know
("Additional properties are not allowed ('model-path' was unexpected)"); teal still
builds but says, at the key's line, that it ignores it, with the closest key. dbt's own
keys that only matter to dbt's tooling are accepted quietly; ``target-path`` is a warning,
as teal writes its artifacts to ``target/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError, TealError, did_you_mean

# what dbt_project.yml may hold (dbt-core's project schema)
PROJECT_KEYS = (
    "name",
    "version",
    "config-version",
    "profile",
    "model-paths",
    "seed-paths",
    "test-paths",
    "analysis-paths",
    "macro-paths",
    "snapshot-paths",
    "docs-paths",
    "asset-paths",
    "function-paths",
    "target-path",
    "log-path",
    "clean-targets",
    "packages-install-path",
    "query-comment",
    "require-dbt-version",
    "on-run-start",
    "on-run-end",
    "dispatch",
    "vars",
    "models",
    "seeds",
    "snapshots",
    "sources",
    "data_tests",
    "tests",
    "unit_tests",
    "analyses",
    "metrics",
    "semantic-models",
    "saved-queries",
    "exposures",
    "functions",
    "quoting",
    "restrict-access",
    "dbt-cloud",
    "flags",
)
# keys dbt 1.0 renamed: read under their new names only
RENAMED = {
    "source-paths": "model-paths",
    "data-paths": "seed-paths",
    "modules-path": "packages-install-path",
}


def check_project_keys(data: dict[str, Any], display: str, warnings: list[TealError]) -> None:
    """Append a warning to ``warnings`` for each top-level key of ``data`` (a parsed
    dbt_project.yml) that teal ignores."""
    for raw_key, value in data.items():
        key = str(raw_key)
        line, col = getattr(data, "keys_at", {}).get(key, (None, None))
        if key in RENAMED:
            message = f"'{key}' in dbt_project.yml is ignored: dbt 1.0 renamed it"
            hint = f"write {RENAMED[key]}: {value!r}"
        elif key == "target-path" and str(value).strip("/") != "target":
            message = "target-path in dbt_project.yml is not applied by teal"
            hint = "teal writes manifest.json, run_results.json and compiled SQL to target/"
        elif key not in PROJECT_KEYS:
            message = f"unknown key '{key}' in dbt_project.yml: it is ignored"
            hint = did_you_mean(key, PROJECT_KEYS) or "dbt would refuse it too"
        else:
            continue
        warnings.append(ProjectError(message, path=display, line=line, col=col, hint=hint))


# the folder keys of dbt_project.yml whose folders teal reads files from, with dbt's default
FOLDER_KEYS = {
    "model-paths": "models",
    "seed-paths": "seeds",
    "test-paths": "tests",
    "macro-paths": "macros",
    "snapshot-paths": "snapshots",
    "analysis-paths": "analyses",
}


def check_project_folders(
    data: dict[str, Any], root: Path, display: str, warnings: list[TealError]
) -> None:
    """Append a warning to ``warnings`` for each folder a ``*-paths`` key of ``data``
    names that is not in the project at ``root`` (a misspelt folder's files would be
    left out, silently). A default folder (``analyses``, ...) may be absent: dbt init
    lists them all, and git keeps no empty folder."""
    from teal.compiler.discover import project_folders

    here: list[str] | None = None  # listed once a folder is missing
    for key, default in FOLDER_KEYS.items():
        value = data.get(key)
        folders = [value] if isinstance(value, str) else value
        if not isinstance(folders, list):
            continue  # not a list of folders: compiler/dbt/settings.py says so
        line, col = getattr(data, "keys_at", {}).get(key, (None, None))
        for folder in folders:
            if isinstance(folder, str) and folder != default and not (root / folder).is_dir():
                here = project_folders(root) if here is None else here
                warnings.append(
                    ProjectError(
                        f"{key} names '{folder}', which is not a folder of the project: "
                        "nothing is read from it",
                        path=display,
                        line=line,
                        col=col,
                        hint=did_you_mean(folder, here) or f"create it, or fix {key}",
                    )
                )
