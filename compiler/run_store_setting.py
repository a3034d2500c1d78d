"""The ``run_store`` setting (and ``TEAL_RUN_STORE``): where runs are recorded, checked
where it is read. runtime/runstore opens what it names."""

from __future__ import annotations

from teal.compiler.errors import ProjectError


def unknown_store_url(spec: str, path: str, line: int | None = None) -> ProjectError | None:
    """The error for a ``run_store`` (or ``TEAL_RUN_STORE``) that is a URL of a database
    teal keeps no runs in (``mysql://...``, which would be read as a SQLite path); None if
    it is a path or a URL teal knows.

    >>> unknown_store_url("postgresql://db/runs", "-"), unknown_store_url("runs.sqlite", "-")
    (None, None)
    """
    scheme, sep, _ = spec.partition("://")
    if not sep or spec.startswith(("postgresql://", "postgres://", "sqlite:///")):
        return None
    return ProjectError(
        f"run store '{spec}': teal records runs in SQLite or Postgres, not in '{scheme}://'",
        path=path,
        line=line,
        hint='a path such as ".teal/runs.sqlite", "postgresql://user@host/db" or "none"',
    )
