"""The module-level Python API: ``teal.build`` and ``teal.runs``, each a :class:`Session`
opened, used once and closed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.runtime.report import Reporter
from teal.runtime.results import BuildResult
from teal.runtime.run_config import RunConfig
from teal.runtime.runstore import RunRecord, RunStatus
from teal.runtime.session import RunOptions, Selection, Session

if TYPE_CHECKING:
    from teal.compiler.deferral import Deferral


def runs(
    project_dir: str | Path | None = None,
    *,
    status: Sequence[RunStatus | str] = (),
    model: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """Recent runs of the project at ``project_dir`` from its run store, newest first.

    >>> [r.status for r in teal.runs("path/to/project", limit=2)]   # doctest: +SKIP
    [<RunStatus.SUCCESS: 'success'>, <RunStatus.FAILURE: 'failure'>]
    """
    with Session.open(project_dir) as session:
        return session.run_store().runs(
            status=[RunStatus(s) for s in status], model=model, since=since, limit=limit
        )


def build(
    project_dir: str | Path | None = None,
    *,
    select: Selection = None,
    exclude: Selection = None,
    threads: int | None = None,
    vars: dict[str, Any] | None = None,
    target: str | None = None,
    warehouse: str | Path | None = None,
    fail_fast: bool = False,
    reporter: Reporter | None = None,
    debug: bool = False,
    command: str = "build",
    changed_only: bool | None = None,
    inline_views: bool = False,
    full_refresh: bool = False,
    partitions: Sequence[str] = (),
    store_failures: bool = False,
    wait: float | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    resources: Mapping[str, Any] | None = None,
    defer_to: str | Path | None = None,
    favor_state: bool = False,
) -> BuildResult:
    """Build the selected models of the project at ``project_dir``.

    >>> result = teal.build("path/to/project", select="marts+")   # doctest: +SKIP
    >>> result.success, result["daily_revenue"].rows                # doctest: +SKIP

    ``config`` is run config (model name -> field values of its ``teal.Config``);
    ``resources`` gives resource instances by name, in place of the project's;
    ``defer_to`` (and ``favor_state``) as ``--defer-to`` (``--favor-state``): unselected
    upstreams not built here are read from that DuckDB file.
    """
    session = Session.open(
        project_dir, target=target, warehouse=warehouse, vars=vars, threads=threads
    )
    if defer_to is not None or favor_state:
        session.defer = _deferral(defer_to, favor_state)
    options = session.options(
        changed_only=changed_only,
        inline_views=inline_views,
        full_refresh=full_refresh,
        partitions=tuple(partitions),
    )
    run = RunOptions(
        command=command,
        threads=threads,
        fail_fast=fail_fast,
        store_failures=store_failures,
        debug=debug,
        wait=wait,
        config=RunConfig({k: dict(v) for k, v in config.items()}, "config=")
        if config is not None
        else None,
        resources=resources,
    )
    with session:
        return session.build(select, exclude, options=options, run=run, reporter=reporter)


def _deferral(defer_to: str | Path | None, favor_state: bool) -> Deferral:
    """``defer_to=`` and ``favor_state=`` of :func:`build`, as ``--defer-to`` and
    ``--favor-state`` (the file's own mistakes are found when the build reads it)."""
    from teal.compiler.deferral import Deferral
    from teal.compiler.errors import ProjectError

    if defer_to is None:
        raise ProjectError(
            "favor_state=True needs defer_to=PATH",
            hint="defer_to names production's warehouse file that upstreams are read from",
        )
    path = Path(defer_to).resolve()
    if path.is_dir():
        raise ProjectError(
            f"defer_to={str(defer_to)!r} is a folder", hint="pass production's .duckdb file"
        )
    return Deferral(path, favor_state, flag="defer_to=")
