"""The Launch page's requests: a plan, or a launch, of a selection or a job, with
partitions, vars, run config, a full refresh or only what is missing; checked as ``teal
build`` checks its flags, and planned as the queued run will plan it.

What a launch asks for beyond its selection and partitions is one mapping, the settings
the queued run carries (its ``RunRecord.config``, as a schedule's run or a retry carries
them). ``launch.run_options`` plans from that mapping here, for the page, and again in the
``teal launch RUN`` process that carries the run out, so the plan shown is the plan run.
Vars open the project with them (its templates read them); the run config is checked
against the planned models' ``teal.Config`` classes before anything is queued, so a
mistake is shown in the page, located (``run config:2:3``), not as a failed run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teal.compiler.config import ProjectConfig, parse_vars
from teal.compiler.errors import SelectionError
from teal.runtime.launch import job_request, run_options
from teal.runtime.run_config import (
    RunConfig,
    config_classes,
    run_config_text,
    unused_run_config,
    validated_configs,
)
from teal.runtime.runstore.records import JsonValue
from teal.runtime.ui.body import flag, known_keys, names, text

if TYPE_CHECKING:
    from teal.compiler.plan import Plan
    from teal.runtime.session import Session

# what the body of a plan or a launch may hold
BUILD_KEYS = (
    "select",
    "exclude",
    "partitions",
    "full_refresh",
    "missing_only",
    "job",
    "vars",
    "run_config",
)
VARS, RUN_CONFIG = "vars", "run config"  # where their mistakes are located


@dataclass(frozen=True)
class LaunchRequest:
    """A build as the page asks for it, its job applied."""

    select: tuple[str, ...]
    exclude: tuple[str, ...]
    partitions: tuple[str, ...]  # keys, and a range as FIRST..LAST
    # what the queued run carries: vars, run_config, full_refresh, missing_only, job, tags
    settings: dict[str, JsonValue]
    run_config: RunConfig | None = None

    @property
    def vars(self) -> dict[str, JsonValue]:
        found = self.settings.get("vars")
        return dict(found) if isinstance(found, dict) else {}

    def to_json(self) -> dict[str, Any]:
        """What will be queued, for the page to show."""
        return {
            "select": list(self.select),
            "exclude": list(self.exclude),
            "partitions": list(self.partitions),
            **self.settings,
        }


def read_launch(body: dict[str, Any], config: ProjectConfig) -> LaunchRequest:
    """The request in ``body``: unknown keys, values of the wrong type, vars or run config
    that do not parse, an unknown job or a job given with a selection are refused."""
    known_keys(body, BUILD_KEYS)
    select, exclude, partitions = names(body, "select"), names(body, "exclude"), []
    for item in names(body, "partitions"):  # "a,b" as the command line's --partition
        partitions += [k.strip() for k in item.split(",") if k.strip()]
    full_refresh = flag(body, "full_refresh", False)
    given_vars = _vars(body.get("vars"))
    run_config = _run_config(body.get("run_config"))
    settings: dict[str, JsonValue] = {}
    job_name = text(body, "job")
    if job_name is not None:
        job = job_request(
            config.automation.job(job_name, path="job"),
            select,
            exclude,
            partitions_given=bool(partitions),
            flags=("job", "select"),
        )
        select, exclude = list(job.select), list(job.exclude)
        partitions = list(job.partitions or partitions)
        full_refresh = full_refresh or job.full_refresh
        given_vars = {**job.vars, **given_vars}
        settings.update(job=job.job, tags=list(job.tags))
    if len([k for k in partitions if ".." in k]) > 1:
        raise SelectionError("give one partition range FIRST..LAST", path="partitions")
    settings.update(
        vars=json.loads(json.dumps(given_vars, default=str)),  # as the run store keeps them
        run_config=run_config.to_json() if run_config is not None else {},
        full_refresh=full_refresh,
        missing_only=flag(body, "missing_only", False),
    )
    return LaunchRequest(tuple(select), tuple(exclude), tuple(partitions), settings, run_config)


def _vars(value: object) -> dict[str, Any]:
    """Vars as YAML or JSON text (as ``--vars``), or a JSON object."""
    if value is None or isinstance(value, dict):
        return dict(value or {})
    if not isinstance(value, str):
        raise SelectionError(f"'vars' must be text or an object, got {value!r}", path=VARS)
    return parse_vars(value, path=VARS) or {}


def _run_config(value: object) -> RunConfig | None:
    """Run config as YAML or JSON text (as ``--config``/``--config-json``), or an object."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = json.dumps(value)
    if not isinstance(value, str):
        raise SelectionError(
            f"'run_config' must be text or an object, got {value!r}", path=RUN_CONFIG
        )
    return run_config_text(value, RUN_CONFIG)


@contextmanager
def planning_session(session: Session, request: LaunchRequest) -> Iterator[Session]:
    """The session to plan ``request`` in: ``session``, or, when the request has vars or
    sets a dbt project's flags (both read by templates as the project loads), one opened
    with them and closed after (``session`` stays as it is, for the other pages)."""
    from teal.runtime.launch import settings_flags
    from teal.runtime.session import Session

    dbt_flags = session.config.dbt is not None and bool(request.settings.get("full_refresh"))
    if not request.vars and not dbt_flags:
        yield session
        return
    own = Session.open(session.config.root, vars=request.vars or None)
    try:
        settings_flags(own, request.settings)
        yield own
    finally:
        own.close()


def plan_launch(session: Session, request: LaunchRequest) -> dict[str, Any]:
    """The plan of ``request`` (as ``teal plan`` shows it), the warnings of its run config
    and the run config the planned models take; a run config that does not fit them is an
    error, located."""
    with planning_session(session, request) as planning:
        options = run_options(
            planning, request.select, request.exclude, request.partitions, request.settings
        )
        plan = planning.plan(list(request.select) or None, list(request.exclude) or None, options)
        planned = [s.model for s in plan.steps]
        validated_configs(planning.project, planned, request.run_config)
        warnings = (
            unused_run_config(planning.project, planned, request.run_config)
            if request.run_config is not None
            else ()
        )
        takes = config_fields(planning, plan)
    found = plan.to_dict()
    return {
        "steps": found["steps"],
        "not_run": found["not_run"],
        "warnings": [f"{w.location}: {w.message}" for w in warnings],
        "config_fields": takes,
        "launch": request.to_json(),
    }


def config_fields(session: Session, plan: Plan) -> dict[str, list[dict[str, JsonValue]]]:
    """The run config each planned Python model takes: its fields, their types and
    defaults (``required`` when it has none), for the page to show what may be set."""
    from teal.compiler.typed_fields import field_types, to_json, type_name

    out: dict[str, list[dict[str, JsonValue]]] = {}
    missing = object()
    for model, cls in config_classes(session.project, [s.model for s in plan.steps]).items():
        fields: list[dict[str, JsonValue]] = []
        for name, tp in field_types(cls).items():
            default = getattr(cls, name, missing)
            fields.append(
                {
                    "name": name,
                    "type": type_name(tp),
                    "default": None if default is missing else to_json(default),
                    "required": default is missing,
                }
            )
        out[model] = fields
    return out
