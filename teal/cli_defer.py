"""The deferral flags (``--defer-to PATH``, dbt's ``--defer``, ``--defer-state DIR``,
``--favor-state``) and dbt's deferral variables, turned into the session's ``Deferral``
(compiler/deferral.py); :func:`teal.cli_support.open_session` calls :func:`deferral_of`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.runtime.session import Session

DEFER = "teal.defer"  # --defer-to PATH, --defer, --favor-state (defer_options)


def _keep_defer(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value:
        ctx.meta.setdefault(DEFER, {})[param.name] = value


def defer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--defer-to PATH``, dbt's ``--defer`` (with ``--state DIR``) and ``--favor-state``:
    the selection reads its unselected upstreams that are not built here from another
    warehouse (compiler/deferral.py); :func:`open_session` gives them to the session."""
    options = [
        click.option(
            "--defer-to",
            type=click.Path(path_type=Path),  # a folder is refused with a hint (deferral_of)
            default=None,
            expose_value=False,
            callback=_keep_defer,
            metavar="PATH",
            help="Read the upstream models of the selection that are neither selected nor "
            "built in this warehouse from the DuckDB file PATH (production's), attached "
            "read-only.",
        ),
        click.option(
            "--defer",
            is_flag=True,
            expose_value=False,
            callback=_keep_defer,
            help="dbt projects: defer to the relations of the --state manifest (dbt's --defer).",
        ),
        click.option(
            "--defer-state",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=_keep_defer,
            metavar="DIR",
            help="dbt projects: with --defer, the manifest folder deferral reads (dbt's "
            "--defer-state); --state then serves state: selectors only.",
        ),
        click.option(
            "--favor-state",
            is_flag=True,
            expose_value=False,
            callback=_keep_defer,
            help="With --defer-to/--defer: read every unselected upstream from there, "
            "even those built here.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def deferral_of(session: Session, asked: dict[str, Any], state_dir: Path | None) -> None:
    """Give ``session`` the deferral the flags in ``asked`` ask for, or raise what is
    wrong with them (as dbt: --defer needs --state, --favor-state needs a deferral)."""
    from teal.compiler.deferral import Deferral

    defer_to, defer, favor = asked.get("defer_to"), asked.get("defer"), asked.get("favor_state")
    dbt = session.config.dbt is not None
    defer_state = asked.get("defer_state")
    if defer_state is not None and not defer:
        raise ProjectError(
            "--defer-state needs --defer (dbt's --defer-state is the manifest deferral reads)",
            hint="add --defer, or DBT_DEFER=1",
        )
    state_dir = Path(defer_state).resolve() if defer_state is not None else state_dir
    if defer and not dbt:
        raise ProjectError(
            "--defer is for dbt projects (with --state DIR)",
            hint="in a teal project, pass --defer-to PATH: production's warehouse file",
        )
    if defer and state_dir is None:
        raise ProjectError(
            "--defer needs --state DIR: the folder of production's manifest.json",
            hint="pass --state DIR (dbt's --defer reads the relations from that manifest), "
            "or --defer-to PATH to read the same relations from a DuckDB file",
        )
    if favor and not (defer or defer_to):
        raise ProjectError(
            "--favor-state needs --defer-to PATH (or --defer --state DIR in a dbt project)",
            hint="--favor-state says where upstreams are read from when deferring",
        )
    path = Path(defer_to).resolve() if defer_to else None
    if path is not None and path.is_dir():
        raise ProjectError(
            f"--defer-to {defer_to} is a folder: --defer-to takes production's DuckDB file",
            hint="in a dbt project, --defer --state DIR reads production's manifest.json from "
            "a folder (dbt's --defer)"
            if dbt
            else "pass the .duckdb file production's build writes",
        )
    if defer:
        session.defer = Deferral(path, bool(favor), flag="--defer --state", manifest=state_dir)
    elif path is not None:
        session.defer = Deferral(path, bool(favor))
    if session.defer is not None and session.config.dbt is not None:
        import dataclasses  # said by the load's errors of queries deferral does not reach

        dbt_settings = dataclasses.replace(session.config.dbt, deferring=session.defer.flag)
        session.config = dataclasses.replace(session.config, dbt=dbt_settings)


def dbt_environment(flags: dict[str, Any]) -> dict[str, Any]:
    """``flags`` (the deferral flags given) with what dbt's variables ask for
    (``DBT_DEFER``, ``DBT_DEFER_STATE``, ``DBT_FAVOR_STATE``, and dbt 1.11's
    ``DBT_ENGINE_*`` spellings), for a dbt project: a flag given overrides them, and, as
    in dbt, the state and favor variables count only when deferring."""
    out: dict[str, Any] = {}
    for key, names in (
        ("defer", ("DBT_DEFER", "DBT_ENGINE_DEFER")),
        ("favor_state", ("DBT_FAVOR_STATE", "DBT_ENGINE_FAVOR_STATE")),
    ):
        value = next((os.environ[n] for n in names if n in os.environ), None)
        if value is not None and value.strip().lower() in ("1", "true", "yes", "y", "on"):
            out[key] = True
    defer_state = next(
        (os.environ[n] for n in ("DBT_DEFER_STATE", "DBT_ENGINE_DEFER_STATE") if os.environ.get(n)),
        None,
    )
    if defer_state is not None:
        out["defer_state"] = Path(defer_state)
    merged = {**out, **flags}
    if not (merged.get("defer") or merged.get("defer_to")):
        return dict(flags)
    if not merged.get("defer") and "defer_state" not in flags:
        merged.pop("defer_state", None)  # DBT_DEFER_STATE counts with --defer only
    return merged
