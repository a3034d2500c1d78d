"""A job's selection mistakes, located in teal.toml.

`teal build --job NAME` (and `teal plan --job NAME`) selects with the job's ``select`` and
``exclude`` as if they were given as ``--select`` and ``--exclude``; a mistake in them is
the job's, so it is located at the job's line in teal.toml and worded as `teal validate`
words it (runtime/automation_check.py), not as a flag's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import ProjectError, SelectionError
from teal.compiler.toml_lines import table_line


@contextmanager
def located_in_job(config: ProjectConfig, name: str | None) -> Iterator[None]:
    """Re-raise a selection mistake of job ``name``'s own ``select``/``exclude`` at its
    line in teal.toml (one in an ``--exclude`` given beside the job stays the flag's).
    Nothing when ``name`` is None."""
    try:
        yield
    except SelectionError as exc:
        job = None if name is None else config.automation.jobs.get(name)
        if job is None:
            raise
        if exc.path == "--select" and exc.source_line in job.select:
            key = "select"
        elif exc.path == "--exclude" and exc.source_line in job.exclude:
            key = "exclude"
        else:
            raise
        raise ProjectError(
            f"jobs.{name} selects {exc.message}",
            path=config.config_path.name,
            line=table_line(config.config_path, f"jobs.{name}", key),
            hint=exc.hint,
        ) from None
