"""dbt's flags as a dbt project's templates read them (``flags.FULL_REFRESH``,
``should_store_failures()``, ``--empty``): set on the session's config before the project
loads, by the CLI's build commands, `teal retry` and the launch of a queued run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.runtime.session import Session


def dbt_flags(
    session: Session,
    *,
    empty: bool = False,
    store_failures: bool = False,
    full_refresh: bool = False,
) -> None:
    """dbt's flags as a dbt project's templates read them, set before the project loads:
    ``--empty`` (refs and sources read no rows), ``--store-failures``
    (``should_store_failures()``) and ``--full-refresh`` (``should_full_refresh()``); the
    last two are also run options, which is all they are in a teal project."""
    import dataclasses

    from teal.compiler.errors import ProjectError

    if session.config.dbt is None:
        if empty:
            raise ProjectError(
                "--empty is for dbt projects",
                hint="to check a teal project's SQL without building it, run `teal validate`",
            )
        return
    if not (empty or store_failures or full_refresh):
        return
    dbt = dataclasses.replace(
        session.config.dbt,
        empty=empty,
        store_failures=store_failures,
        full_refresh=full_refresh,
    )
    session.config = dataclasses.replace(session.config, dbt=dbt)
