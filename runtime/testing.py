"""``teal.materialize``: run Python assets in memory, as Dagster's ``materialize`` does in
tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Never

from teal.compiler.assets import AssetCheckDef, AssetDef
from teal.compiler.config import ProjectConfig
from teal.compiler.errors import ExecutionError, SelectionError
from teal.compiler.multi_assets import MultiAssetDef
from teal.compiler.plan import build_plan
from teal.compiler.project import Project, project_from_assets
from teal.compiler.resources import ResourceDecl
from teal.runtime.checking import CheckOutcome
from teal.runtime.context import DAGSTER_NAMES, AssetContext, Resources, TimeWindow
from teal.runtime.options import plan_options
from teal.runtime.results import BuildResult, ModelResult
from teal.runtime.run_config import RunConfig
from teal.runtime.session import RunOptions, Session
from teal.warehouse import io
from teal.warehouse.engine import open_engine


@dataclass(frozen=True)
class MaterializeResult:
    """What ``teal.materialize`` returns: the build result plus every output as Arrow."""

    result: BuildResult
    outputs: dict[str, Any]  # model name -> pyarrow.Table

    def __init__(
        self,
        result: BuildResult | None = None,
        outputs: dict[str, Any] | None = None,
        **dagster: Any,
    ) -> None:
        # Dagster's MaterializeResult(metadata=...) is what an asset returns there; here
        # the name is materialize()'s result, and an asset returns teal.Output
        if dagster or result is None or outputs is None:
            given = ", ".join(f"{k}=" for k in dagster)
            raise TypeError(
                f"teal.MaterializeResult takes {f'no {given}' if given else 'a build result'}: "
                "it is what teal.materialize() returns, not what an asset returns (as "
                "Dagster's MaterializeResult is); to record metadata with an asset's data, "
                f"{DAGSTER_NAMES['add_output_metadata']}"
            )
        object.__setattr__(self, "result", result)
        object.__setattr__(self, "outputs", outputs)

    @property
    def success(self) -> bool:
        return self.result.success

    def output_for(self, asset: str | AssetDef) -> Any:
        """The rows the asset wrote, as a ``pyarrow.Table``."""
        name = asset.name if isinstance(asset, AssetDef) else asset
        return self.outputs[name]

    def __getitem__(self, model: str) -> ModelResult:
        return self.result[model]

    @property
    def check_results(self) -> list[CheckOutcome]:
        """Every check's outcome, in build order."""
        return [outcome for r in self.result.results for outcome in r.checks]

    def check_result(self, check: str | AssetCheckDef) -> CheckOutcome:
        """The outcome of one check (by name or the ``@teal.asset_check`` function)."""
        name = check.name if isinstance(check, AssetCheckDef) else check
        for outcome in self.check_results:
            if outcome.check == name:
                return outcome
        raise KeyError(f"no check {name!r} ran (checks: {[o.check for o in self.check_results]})")


def materialize(
    assets: list[AssetDef | AssetCheckDef | MultiAssetDef],
    *,
    inputs: dict[str, Any] | None = None,
    warehouse: str | Path = ":memory:",
    vars: dict[str, Any] | None = None,
    raise_on_error: bool = True,
    resources: dict[str, Any] | None = None,
    config: dict[str, dict[str, Any]] | None = None,
    partition_key: str | None = None,
    partition: str | None = None,
    **wrong: Never,
) -> MaterializeResult:
    """Run Python assets in dependency order, with the ``@teal.asset_check`` functions
    given among them (their outcomes: ``result.check_result(check)``).

    ``inputs`` gives data (Arrow, Polars, pandas) for upstream names that are not among
    ``assets``. Outputs come back as Arrow tables: ``result.output_for("name")``.
    ``resources`` gives the resources the assets and checks name (instances, or
    ``teal.Resource`` objects whose EnvVars are read now); ``config`` the run config, by
    asset name; ``partition_key`` (or ``partition``) the one partition key partitioned
    assets are built for.
    """
    _no_wrong_keywords(materialize, wrong)
    if partition is not None and partition_key is not None and partition != partition_key:
        raise TypeError(
            f"materialize() got partition_key={partition_key!r} and partition={partition!r}: "
            "give one (partition= is another name for partition_key=)"
        )
    partition = partition_key if partition_key is not None else partition
    for i, given in enumerate(assets):
        if not isinstance(given, AssetDef | AssetCheckDef | MultiAssetDef):
            raise SelectionError(
                f"assets[{i}] is {given!r}, not a teal asset or asset check",
                path="materialize",
                hint="decorate the function with @teal.asset (or @teal.asset_check)",
            )
    # a multi-asset is its outputs, one asset each
    each: list[AssetDef | AssetCheckDef] = [
        one
        for given in assets
        for one in (given.assets if isinstance(given, MultiAssetDef) else (given,))
    ]
    _check_assets_given(each, inputs or {})
    inputs = dict(inputs or {})
    root = Path.cwd()
    cfg = ProjectConfig(
        root=root,
        config_path=root / "<materialize>",
        name="materialize",
        models_dir=root,
        warehouse_path=Path(warehouse)
        if str(warehouse) == ":memory:"
        else Path(warehouse).resolve(),
        threads=1,
        vars=dict(vars or {}),
        sources={"inputs": {"tables": sorted(inputs)}} if inputs else {},
        check_paths=(),  # only the assets given; no project folders
    )
    project = project_from_assets(
        dataclasses.replace(
            cfg, resources={n: ResourceDecl(n, "<resources>", None) for n in resources or {}}
        ),
        each,
    )
    _warn_unread(inputs, project)
    project = _with_dynamic_key(project, partition)
    session = Session(config=cfg, record_runs=False, _project=project)
    plan = build_plan(
        project, options=plan_options(cfg, partitions=(partition,) if partition else ())
    )
    with open_engine(cfg) as wh:
        if inputs:
            wh.ensure_schemas({"inputs"})
            for name, data in inputs.items():
                wh.write_table("inputs", name, io.scannable(data))
        run = RunOptions(
            command="materialize",
            threads=1,
            resources=resources or {},
            config=RunConfig(dict(config), "config=") if config else None,
        )
        result = session.execute(plan, run=run, warehouse=wh)
        outputs = {}
        for r in result.built:
            model = project.models[r.model]
            if model.io_manager:  # kept by the I/O manager given in `resources`
                from teal.runtime.io_managers import load_managed

                outputs[r.model] = load_managed(
                    resources or {},
                    wh.cursor(),
                    project,
                    model,
                    "arrow",
                    reader="materialize",
                    run_id=result.run_id,
                )
            else:
                outputs[r.model] = wh.read_relation(model.schema, model.alias)
    if raise_on_error and not result.success:
        failed = result.failed[0] if result.failed else result.skipped[0]
        raise ExecutionError(
            f"asset '{failed.model}' failed: {failed.message}", path=failed.path, line=failed.line
        )
    return MaterializeResult(result=result, outputs=outputs)


def _check_assets_given(
    assets: list[AssetDef | AssetCheckDef], inputs: Mapping[str, object]
) -> None:
    """A check given without its asset (a SQL model's, or one left out) has nothing to run
    on here: ``inputs`` are data for what the assets read, not assets to check."""
    given = {a.name for a in assets if isinstance(a, AssetDef)}
    for check in assets:
        if isinstance(check, AssetCheckDef) and check.asset not in given:
            where = "given only as input data" if check.asset in inputs else "not given"
            raise SelectionError(
                f"check '{check.name}' is of asset '{check.asset}', {where}: "
                "materialize runs checks on the assets it builds",
                path="materialize",
                hint=f"give @teal.asset '{check.asset}' too, or call the check on a table: "
                f"{check.fn.__name__}(table)",
            )


def _with_dynamic_key(project: Project, partition: str | None) -> Project:
    """``project`` whose dynamic partition sets hold ``partition``: a test names the key it
    builds, and an in-memory warehouse holds no set's keys (where Dagster's test adds it
    with ``instance.add_dynamic_partitions`` first)."""
    from teal.compiler.partitions.dynamic import bind_project, dynamic_sets

    sets = dynamic_sets(project)
    if partition is None or not sets:
        return project
    return bind_project(project, {name: (partition,) for name in sets})


def _warn_unread(inputs: Mapping[str, object], project: Project) -> None:
    """A Python warning naming the ``inputs`` no asset given reads (a misspelt parameter
    name would otherwise surface later as "not a model", or not at all)."""
    read = {
        table.partition(".")[2]
        for model in project.models.values()
        for table in model.source_tables
        if table.startswith("inputs.")
    }
    unread = sorted(set(inputs) - read)
    if unread:
        import warnings

        warnings.warn(
            f"materialize: no asset given reads the inputs {', '.join(unread)} (ignored; "
            "an input is named as the parameter that reads it)",
            UserWarning,
            stacklevel=3,
        )


def _no_wrong_keywords(function: Callable[..., Any], wrong: Mapping[str, object]) -> None:
    """A ``TypeError`` for keywords ``function`` does not take, naming the one meant (as
    Python's own does, plus the close match: ``partition=`` is ``partition_key=``)."""
    if not wrong:
        return
    import inspect

    from teal.compiler.errors import did_you_mean

    known = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    name = next(iter(wrong))
    hint = did_you_mean(name, known)
    raise TypeError(
        f"{function.__name__}() got an unexpected keyword argument '{name}'"
        + (f": {hint}" if hint else f" (it takes {', '.join(known)})")
    )


def build_context(
    asset: AssetDef | None = None,
    *,
    partition_key: str | None = None,
    vars: dict[str, Any] | None = None,
    run_id: str = "test",
    cursor: Any = None,
    resources: dict[str, Any] | None = None,
    config: Any = None,
    **wrong: Never,
) -> AssetContext:
    """An :class:`AssetContext` to call an asset function directly in a unit test, as
    Dagster's ``build_asset_context``: ``partition_key`` is validated against the asset's
    ``partitioned_by`` and gives the partition's window, as a build would; ``resources``
    are reachable as ``context.resources.NAME`` and ``config`` as ``context.config``.

    >>> import teal
    >>> @teal.asset(partitioned_by={"daily": "2026-01-01"}, partition_column="day")
    ... def events(context: teal.AssetContext) -> list:
    ...     return list(context.partition_window)
    >>> events(teal.build_context(events, partition_key="2026-01-02"))
    [datetime.datetime(2026, 1, 2, 0, 0), datetime.datetime(2026, 1, 3, 0, 0)]
    """
    _no_wrong_keywords(build_context, wrong)
    from teal.compiler.errors import SelectionError
    from teal.compiler.partitions import PartitionKeyError, parse_partitions
    from teal.compiler.partitions.dynamic import DynamicPartitions
    from teal.runtime.context import asset_logger

    name = asset.name if asset is not None else "asset"
    spec = asset.config.get("partitioned_by") if asset is not None else None
    window: TimeWindow | None = None
    if partition_key is not None and spec is not None:
        definition = parse_partitions(spec)
        assert definition is not None
        if isinstance(definition, DynamicPartitions):  # no warehouse: the key named is one
            definition = definition.bind((partition_key,))
        try:
            definition.validate(partition_key)
        except PartitionKeyError as exc:
            raise SelectionError(exc.message, path="partition_key", hint=exc.hint) from None
        try:
            start, end = definition.window(partition_key)
            window = TimeWindow(start.replace(tzinfo=None), end.replace(tzinfo=None))
        except Exception:  # noqa: BLE001 - static partitions have no time window
            window = None
    return AssetContext(
        asset_name=name,
        relation=f"main.{name}",
        run_id=run_id,
        log=asset_logger(name),
        cursor=cursor,
        vars=dict(vars or {}),
        partition_key=partition_key,
        partition_keys=(partition_key,) if partition_key is not None else (),
        partition_window=window,
        resources=Resources(resources or {}),
        config=config,
    )
