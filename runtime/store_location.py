"""Where a run store that fails to open was chosen, for its error: ``TEAL_RUN_STORE``
when that is set, else the project file's ``run_store`` at its value. The store's own
message says what failed (an unreachable server, a refused password); the location says
which setting to fix, as every other mistake in the project's settings is located."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from teal.compiler.errors import WarehouseError
from teal.compiler.toml_lines import key_line, line_text, value_col
from teal.runtime.runstore import STORE_VARIABLE, RunStore, store_spec

if TYPE_CHECKING:
    from teal.compiler.config import ProjectConfig
    from teal.runtime.session import Session


def open_project_store(config: ProjectConfig) -> RunStore:
    """The project's run store, opened and migrated (``recorder.open_migrated``); an
    error of the store's own is located where the store was chosen."""
    from teal.runtime.recorder import open_migrated

    try:
        return open_migrated(store_spec(config.run_store), config.root, project=config.name)
    except WarehouseError as exc:
        if exc.path == "run_store":  # the store's own error, not yet located
            _locate(exc, config)
        raise


def open_before_build(session: Session) -> None:
    """Open the session's run store before a build changes anything: a store that does
    not open fails the build, saying nothing was built."""
    try:
        session.run_store()
    except WarehouseError as exc:
        if exc.hint and "nothing was built" not in exc.hint:
            exc.hint += "; nothing was built"
        raise


def _locate(exc: WarehouseError, config: ProjectConfig) -> None:
    """At ``TEAL_RUN_STORE``, or at the value of ``run_store`` (a line written otherwise,
    escaped, is not shown: it holds the password the message masks)."""
    if os.environ.get(STORE_VARIABLE):
        exc.path = STORE_VARIABLE
        return
    spec = config.run_store
    line = key_line(config.config_path, "run_store") if spec else None
    if spec is None or line is None:  # the default store under .teal/: no setting chose it
        return
    exc.path = config.config_path.relative_to(config.root).as_posix()
    text = line_text(config.config_path, line) or ""
    if spec in text:  # shown with its password masked, as the message has it
        from teal.runtime.runstore.postgres import masked

        exc.line, exc.col = line, value_col(config.config_path, line)
        exc.source_line = text.replace(spec, masked(spec))
