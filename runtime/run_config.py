"""Run config: values for the ``teal.Config`` parameters of a run's Python models, and the
resources the run opens, checked before anything runs.

Run config is a mapping of model name to field values, from ``--config file.yml``,
``--config-json '{...}'`` or the API (``teal.build(config=...)``, ``RunOptions.config``)::

    forecast:
      days: 3
      city: Lisbon

Every value is checked against its model's Config class before the run starts: an unknown
model, a model that takes no config, an unknown field or a value of the wrong type is an
error naming it (with the file, line and column of a YAML file), exit 2, nothing built. A
model's entry is kept when the model is not in this run (a retry of part of a run reuses
the run's config whole).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import SelectionError, TealError, did_you_mean
from teal.compiler.project import Project
from teal.compiler.resources import Config
from teal.compiler.typed_fields import FieldError, field_types, to_json, type_name
from teal.runtime.resources import OpenResources, open_resources

if TYPE_CHECKING:
    from teal.compiler.config import ProjectConfig
    from teal.compiler.plan import PlanOptions
    from teal.runtime.runstore.records import JsonValue


@dataclass(frozen=True)
class RunConfig:
    """Field values by model, and where they were written (for messages)."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "config"  # a file's path, --config-json, or config= of the API
    # "model" (its key), "model.field" (its value) and "model.field:key" (the field's key)
    # -> (line, col) in a YAML file
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)

    def at(self, key: str) -> tuple[int | None, int | None]:
        line, col = self.lines.get(key) or self.lines.get(key.split(".")[0]) or (None, None)
        return line, col

    def to_json(self) -> dict[str, Any]:
        return {model: to_json(values) for model, values in self.values.items()}

    @classmethod
    def recorded(cls, raw: object, run_id: str) -> RunConfig | None:
        """The run config run ``run_id`` recorded (``RunInputs.recorded``), None if none:
        what ``teal retry`` and a queued run reuse."""
        if not isinstance(raw, dict):
            return None
        values = {str(k): dict(v) for k, v in raw.items() if isinstance(v, dict)}
        return cls(values, f"run {run_id}") if values else None


def read_run_config(path: str | None = None, json_text: str | None = None) -> RunConfig | None:
    """The run config of ``--config FILE`` (YAML or JSON) or ``--config-json TEXT``."""
    if path is not None and json_text is not None:
        raise SelectionError(
            "--config and --config-json cannot be used together",
            path="--config",
            hint="put everything in the file",
        )
    if json_text is not None:
        try:
            data = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise SelectionError(
                f"not JSON: {exc.msg}",
                path="--config-json",
                line=exc.lineno,
                col=exc.colno,
                hint='--config-json \'{"forecast": {"days": 3}}\'',
            ) from None
        return _checked(data, "--config-json", {})
    if path is None:
        return None
    from teal.compiler.discover import decode_utf8

    file = Path(path)
    if not file.is_file():
        raise SelectionError(f"no config file {path}", path="--config", hint="give a YAML file")
    return run_config_text(decode_utf8(file.read_bytes(), path), path) or RunConfig(source=path)


def run_config_text(text: str, source: str) -> RunConfig | None:
    """The run config written in ``text`` (YAML or JSON, as in a ``--config`` file; the
    UI's run config box), its keys located for messages at ``source``; None when empty."""
    from teal.compiler.yamlfile import parse_yaml

    if not text.strip():
        return None
    data = parse_yaml(text, source)
    lines: dict[str, tuple[int, int]] = {}
    for model, at in getattr(data, "keys_at", {}).items():
        lines[model] = at
        inner = data.get(model)
        for name, field_at in getattr(inner, "values_at", {}).items():
            lines[f"{model}.{name}"] = field_at
        for name, key_at in getattr(inner, "keys_at", {}).items():
            lines[f"{model}.{name}:key"] = key_at  # where an unknown field is
    return _checked(data, source, lines)


def _checked(data: object, source: str, lines: dict[str, tuple[int, int]]) -> RunConfig:
    if data is None:
        return RunConfig(source=source)
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SelectionError(
            "run config must map model names to their fields",
            path=source,
            line=1,
            hint="forecast: {days: 3}",
        )
    return RunConfig({str(k): dict(v) for k, v in data.items()}, source, lines)


def config_classes(project: Project, models: Iterable[str]) -> dict[str, type[Config]]:
    """The Config class of each of ``models`` that takes run config (its file imported)."""
    found: dict[str, type[Config]] = {}
    for name in models:
        asset = project.models[name].asset
        if asset is None or asset.config_param is None:
            continue
        definition = real_definition(asset)
        cls = definition.annotations.get(asset.config_param)
        assert isinstance(cls, type) and issubclass(cls, Config)
        found[name] = cls
    return found


def real_definition(definition: Any) -> Any:
    """The decorated definition itself, its file imported if the load read it from cache."""
    from teal.compiler.multi_assets import MultiAssetDef
    from teal.compiler.pyfiles import Deferred

    if isinstance(definition.fn, Deferred):
        found = definition.fn.definition()
        if isinstance(found, MultiAssetDef):  # the output of the call this asset is
            return next(a for a in found.assets if a.name == definition.name)
        return found
    return definition


def validated_configs(
    project: Project, models: Iterable[str], given: RunConfig | None
) -> dict[str, Config]:
    """The Config value of each model of the run that takes one, from ``given`` and the
    class's defaults; every entry of ``given`` is checked, in the run or not."""
    given = given or RunConfig()
    for name in given.values:
        if name not in project.models:
            line, col = given.at(name)
            raise SelectionError(
                f"run config for '{name}', which is not a model",
                path=given.source,
                line=line,
                col=col,
                hint=did_you_mean(name, project.models)
                or _multi_asset_named(project, name)
                or _dagster_shape(name)
                or "keys are model names",
            )
        asset = project.models[name].asset
        if asset is None or asset.config_param is None:
            line, col = given.at(name)
            raise SelectionError(
                f"model '{name}' takes no run config",
                path=given.source,
                line=line,
                col=col,
                hint="a Python model takes it through a parameter annotated with a "
                "teal.Config class",
            )
    # the outputs of one multi-asset call share the config given to any of them
    values, origin = call_configs(project, given)
    wanted = set(models) | set(given.values)
    configs: dict[str, Config] = {}
    for each, cls in config_classes(project, sorted(wanted)).items():
        name = origin.get(each, each)  # where a message points: the entry given
        try:
            configs[each] = cls(**values.get(each, {}))
        except FieldError as exc:
            top = exc.field.split(".")[0].split("[")[0]
            line, col = given.at(f"{name}.{top}:key" if exc.unknown else f"{name}.{top}")
            if name not in given.values:
                hint = f'give it with --config-json \'{{"{name}": {{"{exc.field}": ...}}}}\''
            else:
                hint = exc.hint or "fields: " + ", ".join(
                    f"{k}: {type_name(v)}" for k, v in field_types(cls).items()
                )
            raise SelectionError(
                f"run config of model '{name}', field '{exc.field}': {exc.message}",
                path=given.source if name in given.values else project.models[name].display_path,
                line=line if name in given.values else project.models[name].line,
                col=col if name in given.values else None,
                hint=hint,
            ) from None
    in_run = set(models)
    return {name: c for name, c in configs.items() if name in in_run}


def _dagster_shape(name: str) -> str | None:
    """The hint for run config written as Dagster's (``{"ops": {NAME: {"config": ...}}}``)."""
    if name not in ("ops", "resources", "execution", "loggers"):
        return None
    return (
        "teal's run config is {model: {field: value}}: Dagster's "
        "{'ops': {NAME: {'config': {...}}}} is written {NAME: {...}} here"
    )


def _multi_asset_named(project: Project, name: str) -> str | None:
    """The hint for run config keyed by a multi-asset's function name (Dagster's op name)."""
    outputs = next(
        (
            m.asset.outputs
            for m in project.models.values()
            if m.asset is not None and m.asset.output is not None and m.asset.__name__ == name
        ),
        None,
    )
    if outputs is None:
        return None
    return (
        f"'{name}' is a multi_asset: its run config goes under one of its outputs "
        f"({', '.join(outputs)}), which all share it"
    )


def call_configs(
    project: Project, given: RunConfig
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """``given``'s values by model, each output of a ``@teal.multi_asset`` given the
    config of another output of its call (one call makes them all, with one config), and
    the entry each such output's values came from; two outputs given different values are
    an error at the second."""
    values = dict(given.values)
    origin: dict[str, str] = {}
    for name in sorted(given.values):
        asset = project.models[name].asset
        if asset is None or asset.output is None:
            continue
        for other in asset.outputs:
            sibling = project.models.get(other)
            mate = sibling.asset if sibling is not None else None
            if other == name or mate is None or mate.outputs != asset.outputs:
                continue
            if (mate.source_file, mate.source_line) != (asset.source_file, asset.source_line):
                continue
            if other not in given.values:
                values.setdefault(other, given.values[name])
                origin.setdefault(other, name)
            elif given.values[other] != given.values[name] and other > name:
                line, col = given.at(other)
                raise SelectionError(
                    f"run config of '{other}' differs from that of '{name}': both are "
                    f"outputs of multi_asset '{asset.__name__}', made by one call",
                    path=given.source,
                    line=line,
                    col=col,
                    hint=f"give the call's run config once, under '{name}' or '{other}'",
                )
    return values, origin


@dataclass
class RunInputs:
    """What a run's Python models and checks are given besides data: resources, opened,
    and run config, checked."""

    resources: OpenResources = field(default_factory=OpenResources)
    configs: dict[str, Config] = field(default_factory=dict)
    given: RunConfig | None = None

    def close(self) -> None:
        self.resources.close()

    def set_up(self) -> None:
        """Set up the resources (when opened with ``set_up=False``: as the run starts)."""
        self.resources.set_up()

    def recorded(self) -> dict[str, Any]:
        """What the run store keeps (``teal retry`` reuses ``run_config``)."""
        out: dict[str, Any] = {}
        if self.given is not None and self.given.values:
            out["run_config"] = self.given.to_json()
        if self.resources.instances:
            out["resources"] = self.resources.recorded()
        return out


def prepare_inputs(
    project: Project,
    models: Iterable[str],
    given: RunConfig | None = None,
    resources: Mapping[str, Any] | None = None,
    set_up: bool = True,
) -> RunInputs:
    """Check the run config and open the resources the Python models and checks of
    ``models`` use (``set_up=False``: not set up yet, :meth:`RunInputs.set_up`); an error
    here is raised before any data changes."""
    chosen = list(models)
    configs = validated_configs(project, chosen, given)
    wanted: set[str] = set()
    known = set(project.config.resources) | set(resources or {})
    for name in chosen:
        asset = project.models[name].asset
        if asset is not None:
            wanted.update(asset.resource_params)
            _declared(project.models[name].display_path, asset, known)
        for check in project.checks_of(name):
            if check.python is not None:
                wanted.update(check.python.resource_params)
    managed = any(m.io_manager for m in project.models.values())
    if managed:  # and the I/O managers the run saves and loads by
        from teal.runtime.io_managers import managers_used

        wanted |= managers_used(project, chosen)
    opened = (
        open_resources(project.config, wanted, given=resources, set_up=set_up)
        if wanted
        else OpenResources()
    )
    if managed:
        from teal.runtime.io_managers import check_managers

        try:
            check_managers(project, chosen, opened.instances)
        except BaseException:
            opened.close()
            raise
    return RunInputs(opened, configs, given)


def recorded_options(
    cfg: ProjectConfig,
    threads: int | None,
    fail_fast: bool,
    store_failures: bool,
    options: PlanOptions | None,
) -> dict[str, JsonValue]:
    """What a run was asked to do beyond its selection, as recorded with it."""
    recorded: dict[str, JsonValue] = {
        "threads": threads or cfg.threads,
        "fail_fast": fail_fast,
        "store_failures": store_failures,
        "vars": json.loads(json.dumps(cfg.vars, default=str)),
        # where it built: `teal retry` builds into the same warehouse
        "target": cfg.target,
        "warehouse": str(cfg.warehouse_path),
    }
    if options is not None:
        recorded.update(
            full_refresh=options.full_refresh,
            changed_only=options.changed_only,
            missing_only=options.missing_only,
            partition_range=list(options.partition_range) if options.partition_range else None,
            ignore_failed_upstream=options.ignore_failed_upstream,
            event_time_window=[w.isoformat() for w in options.event_time_window]
            if options.event_time_window
            else None,
        )
    if cfg.dbt is not None and getattr(cfg.dbt, "empty", False):
        recorded["empty"] = True  # dbt's --empty: a retry reads no rows either
    return recorded


def unused_run_config(
    project: Project, building: Collection[str], given: RunConfig
) -> tuple[TealError, ...]:
    """Check ``given`` (an error as a run would raise, also when nothing needs building)
    and return a warning for each entry of a model not in ``building``: it is recorded
    with the run and used by nothing."""
    validated_configs(project, [], given)
    _, origin = call_configs(project, given)  # an output built uses its call's config
    used = set(building) | {origin[name] for name in building if name in origin}
    out = []
    for name in sorted(set(given.values) - used):
        line, col = given.at(name)
        out.append(
            SelectionError(
                f"run config for '{name}', which this run does not build: it is not used",
                path=given.source,
                line=line,
                col=col,
            )
        )
    return tuple(out)


def _declared(display: str, asset: Any, known: set[str]) -> None:
    """A resource parameter takes the resource of its name (as in Dagster; an annotation
    with a teal.Resource class marks it as one): one with no such resource is an error at
    the parameter's function, naming the resources there are."""
    for param in asset.resource_params:
        if param not in known:
            raise SelectionError(
                f"parameter '{param}' of {asset.name} takes the resource named '{param}', and "
                "there is none",
                path=display,
                line=asset.source_line,
                hint=did_you_mean(param, known)
                or (
                    f"name the parameter like its resource ({', '.join(sorted(known))})"
                    if known
                    else "declare it under [tool.teal.resources.<name>] or in resources.py"
                ),
            )
