"""Importing the Python model files a run needs, in the background.

A warm load reads what Python files declare from the cache without importing them. A run
imports the ones it will call on a background thread, so SQL models start at once
(importing polars or pandas takes a few tenths of a second); a step that runs Python waits
for it first. A file that fails to import fails the models that run it, with the error
the load would have given (located where it raised); what does not run it goes on.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

from teal.compiler.project import Project
from teal.compiler.pyfiles import import_functions


def import_python(project: Project, models: Iterable[str], assets: bool = True) -> None:
    """Import the Python files behind ``models`` (unless ``assets`` is false) and their
    Python checks."""
    import_functions([f for fs in python_functions(project, models, assets).values() for f in fs])


def python_functions(
    project: Project, models: Iterable[str], assets: bool = True
) -> dict[str, list[Any]]:
    """The Python functions each of ``models`` runs, for those that run any: its asset
    (unless ``assets`` is false), then its Python checks, in one pass over the checks."""
    chosen = sorted(set(models))
    found: dict[str, list[Any]] = {m: [] for m in chosen}
    for m in chosen:
        asset = project.models[m].asset
        if assets and asset is not None:
            found[m].append(asset)
    wanted = set(chosen)
    for check in project.checks.values():
        if check.python is not None and check.asset in wanted:
            found[check.asset].append(check.python)
    return {m: fs for m, fs in found.items() if fs}


def import_every_file(project: Project, selected: Iterable[str] | None = None) -> None:
    """Import every Python file under the models folder, as ``teal compile`` does to check
    them: the files behind Python models and checks, and those that declare nothing (a
    file read from its text alone is otherwise never run). The first that fails to import
    is a located error. With ``selected`` (``teal compile -s ...``), only the files behind
    those models."""
    import hashlib

    if selected is not None:
        import_python(project, [n for n in selected if project.models[n].kind == "python"])
        return

    from teal.compiler.discover import discover, display_path
    from teal.compiler.pyfiles import file_digest, import_file, module_name

    models_dir = project.config.models_dir
    files = project.python_files
    if files is None:
        files = tuple(discover(models_dir).python)
    # files imported without error before, unchanged since: not run again (a warm compile
    # stays fast); any change to any of them checks them all
    key = hashlib.sha256(
        repr([(str(p), file_digest(p)) for p in files] + [sys.version]).encode()
    ).hexdigest()
    marker = project.root / ".teal" / "cache" / "python_files_imported"
    try:
        if marker.read_text() == key:
            return
    except OSError:
        pass
    import_python(project, [n for n, m in project.models.items() if m.kind == "python"])
    declared = {m.path.resolve() for m in project.models.values() if m.kind == "python"}
    for path in files:
        if path.resolve() not in declared:
            shown = display_path(project.root, path)
            import_file(path, module_name(models_dir, path), shown, project.root)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(key)
    except OSError:
        pass  # a read-only project checks them each time


class BackgroundImporter:
    """Imports the files behind ``models`` on a thread, model by model; :meth:`wait`
    joins it and re-raises on the caller's thread the error of the model asked about
    (a file that failed to import fails the models it defines, not the run)."""

    def __init__(self, project: Project, models: Iterable[str]) -> None:
        self.errors: dict[str, BaseException] = {}
        self.thread = threading.Thread(
            target=self._run, args=(project, sorted(set(models))), name="teal-import", daemon=True
        )
        self.thread.start()

    def _run(self, project: Project, models: list[str]) -> None:
        for name, functions in python_functions(project, models).items():
            try:
                import_functions(functions)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the step's thread
                self.errors[name] = exc

    def wait(self, model: str) -> None:
        self.thread.join()
        error = self.errors.get(model)
        if error is not None:
            raise error
