"""Entry points that run things: ``build`` a project, ``materialize`` assets in tests."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from teal.compiler.assets import AssetDef
from teal.compiler.config import ProjectConfig, load_config
from teal.compiler.errors import ExecutionError
from teal.compiler.plan import Plan, PlanOptions, PlanState, build_plan
from teal.compiler.project import Project, load_project, project_from_assets
from teal.runtime.executor import Executor, Reporter
from teal.runtime.results import BuildResult
from teal.warehouse import state
from teal.warehouse.connection import Warehouse, qualified, registered


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def execute_plan(
    project: Project,
    plan: Plan,
    *,
    command: str = "build",
    threads: int | None = None,
    fail_fast: bool = False,
    reporter: Reporter | None = None,
    debug: bool = False,
    run_id: str | None = None,
    warehouse: Warehouse | None = None,
    checks: bool | None = None,
    store_failures: bool = False,
) -> BuildResult:
    """Run ``plan`` against the project's warehouse and record the run.

    ``checks`` (default: every command but ``run``) audits each model before it is published.
    """
    from teal.runtime.checking import Auditor

    importer = _Importer(project, {s.model for s in plan.steps})
    run_id = run_id or new_run_id()
    started = _now()
    own = warehouse is None
    wh = warehouse or Warehouse(project.config.warehouse_path, sources=project.sources)
    try:
        if not own:
            wh.attach_sources(project.sources)
        run_checks = command != "run" if checks is None else checks
        auditor = (
            Auditor(project, run_id, store_failures) if run_checks and project.checks else None
        )
        if auditor is not None and (
            store_failures or any(c.store_failures for c in project.checks.values())
        ):
            wh.ensure_schemas({"teal_failures"})  # before steps store failing rows in parallel
        executor = Executor(
            project,
            plan,
            wh,
            run_id=run_id,
            threads=threads or project.config.threads,
            fail_fast=fail_fast,
            reporter=reporter,
            debug=debug,
            auditor=auditor,
        )
        executor.before_python = importer.wait
        result = executor.run()
        state.record_run(
            wh.conn,
            run_id=run_id,
            command=command,
            started_at=started,
            finished_at=_now(),
            status="success" if result.success and executor.fatal is None else "error",
            selected=len(plan.steps),
            succeeded=len(result.built),
            failed=len(result.failed),
            skipped=[r.model for r in result.skipped],
        )
    finally:
        if own:
            wh.close()
    _write_run_results(project.config, result, command)
    if executor.fatal is not None:  # what was built before it stays built
        raise executor.fatal
    return result


class _Importer:
    """Imports the model files a build needs on a background thread, so that SQL models
    start at once (importing polars or pandas takes a few tenths of a second); a step that
    runs Python waits for it first (:meth:`wait`), and an import error stops the build
    before any Python runs, with the error the load would have given."""

    def __init__(self, project: Project, models: set[str]) -> None:
        import threading

        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(project, models), name="teal-import", daemon=True
        )
        self.thread.start()

    def _run(self, project: Project, models: set[str]) -> None:
        try:
            import_python(project, models)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the scheduler's thread
            self.error = exc

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def import_python(project: Project, models: set[str], assets: bool = True) -> None:
    """Import the Python files behind ``models`` (unless ``assets`` is false) and their
    Python checks, before anything runs: a warm load read what they declare from the cache
    without importing them."""
    from teal.compiler.pyfiles import import_functions

    import_functions(
        [
            project.models[m].asset
            for m in sorted(models)
            if assets and project.models[m].asset is not None
        ]
    )
    import_functions(
        [c.python for c in project.checks.values() if c.python is not None and c.asset in models]
    )


def _write_run_results(cfg: ProjectConfig, result: BuildResult, command: str) -> None:
    if str(cfg.warehouse_path) == ":memory:" or cfg.config_path.name.startswith("<"):
        return
    target = cfg.root / "target"
    try:
        target.mkdir(exist_ok=True)
        payload = {"command": command, **result.to_dict()}
        tmp = target / "run_results.json.tmp"
        tmp.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, target / "run_results.json")
    except OSError:
        pass  # the build result stands even if target/ is not writable


def build(
    project_dir: str | Path | None = None,
    *,
    select: list[str] | str | None = None,
    exclude: list[str] | str | None = None,
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
    partitions: list[str] | tuple[str, ...] = (),
    store_failures: bool = False,
) -> BuildResult:
    """Build the selected models of the project at ``project_dir``.

    >>> result = teal.build("path/to/project", select="marts+")   # doctest: +SKIP
    >>> result.success, result["daily_revenue"].rows                # doctest: +SKIP
    """
    cfg = load_config(project_dir, target=target, warehouse=warehouse, vars=vars, threads=threads)
    project = load_project(config=cfg)
    options = plan_options(
        cfg,
        changed_only=changed_only,
        inline_views=inline_views,
        full_refresh=full_refresh,
        partitions=tuple(partitions),
    )
    with Warehouse(cfg.warehouse_path, sources=project.sources) as wh:
        plan = build_plan(
            project,
            _as_list(select),
            _as_list(exclude),
            state=state.plan_state(wh.conn),
            options=options,
        )
        return execute_plan(
            project,
            plan,
            command=command,
            threads=threads,
            fail_fast=fail_fast,
            reporter=reporter,
            debug=debug,
            warehouse=wh,
            store_failures=store_failures,
        )


def plan_options(
    cfg: ProjectConfig,
    *,
    changed_only: bool | None = None,
    inline_views: bool = False,
    full_refresh: bool = False,
    partitions: tuple[str, ...] | list[str] = (),
    partition_range: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    missing_only: bool = False,
) -> PlanOptions:
    """Planner options from flags, falling back to the project's defaults.

    ``partition_range`` is ``FIRST..LAST``; ``date_from``/``date_to`` are the same range in
    two options (either may be omitted: the definition's first key / the last key up to
    now). ``TEAL_NOW`` (ISO time) fixes the clock, for reproducible runs and tests.
    """
    from teal.compiler.errors import SelectionError

    now = None
    if os.environ.get("TEAL_NOW"):
        now = datetime.fromisoformat(os.environ["TEAL_NOW"])
    keys: list[str] = []
    for item in partitions:
        keys.extend(k.strip() for k in item.split(",") if k.strip())
    rng = None
    if partition_range:
        if ".." not in partition_range:
            raise SelectionError(
                f"--partition-range {partition_range!r} is not FIRST..LAST",
                path="--partition-range",
                hint="write 2026-01-01..2026-01-31",
            )
        first, last = partition_range.split("..", 1)
        rng = (first.strip(), last.strip())
    if date_from or date_to:
        if rng:
            raise SelectionError(
                "use --partition-range or --from/--to, not both", path="--partition-range"
            )
        rng = (date_from or "", date_to or "")
    return PlanOptions(
        changed_only=cfg.changed_only if changed_only is None else changed_only,
        inline_views=inline_views,
        full_refresh=full_refresh,
        partition_keys=tuple(keys),
        partition_range=rng,
        missing_only=missing_only,
        now=now,
    )


def read_state(cfg: ProjectConfig) -> PlanState:
    """Earlier runs' state for planning without building (``teal plan``, ``teal ls``).

    Importing DuckDB and opening a warehouse of 1,000 tables to read it costs 0.13 s, half
    of a warm ``teal plan``. So what was read is kept in ``.teal/cache/state.pickle`` with
    the identity of the warehouse file and its WAL (device, inode, size, modification and
    change times, to the nanosecond): any write to the warehouse, by teal or anything
    else, changes it, and the next read opens the file again."""
    import pickle

    path = cfg.warehouse_path
    if str(path) == ":memory:" or not Path(path).exists():
        return PlanState()
    identity = _file_identity(Path(path))
    kept = cfg.root / ".teal" / "cache" / "state.pickle"
    shape = _state_shape()
    try:
        with kept.open("rb") as fh:
            stored = pickle.load(fh)
        if (stored["warehouse"], stored["identity"], stored["shape"]) == (
            str(path),
            identity,
            shape,
        ):
            return stored["state"]
    except Exception:  # noqa: BLE001 - none yet, or unreadable: read the warehouse
        pass
    with Warehouse(path, read_only=True) as wh:
        found = state.plan_state(wh.conn)
    # kept only if nothing wrote to the file while it was read, and not if it was written in
    # the last two seconds: a file system that keeps times to the second could then see a
    # later write in the same second as no change (git's "racy clean" rule)
    newest = max((part[3] for part in identity if part is not None), default=0)
    if _file_identity(Path(path)) == identity and time.time_ns() - newest > 2_000_000_000:
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_name(f"state.{os.getpid()}.tmp")
            tmp.write_bytes(
                pickle.dumps(
                    {"warehouse": str(path), "identity": identity, "shape": shape, "state": found},
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            )
            os.replace(tmp, kept)
        except OSError:
            pass  # a read-only project: it reads the warehouse each time
    return found


def _state_shape() -> tuple[Any, ...]:
    """The fields of what is kept: a teal whose PlanState differs does not read it."""
    import dataclasses

    from teal.compiler.plan import ModelState

    return tuple(tuple(f.name for f in dataclasses.fields(cls)) for cls in (PlanState, ModelState))


def _file_identity(path: Path) -> tuple[Any, ...]:
    """What changes whenever a database file or its write-ahead log is written."""
    found = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            st = file.stat()
        except FileNotFoundError:
            found.append(None)
        else:
            found.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(found)


def _as_list(value: list[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class MaterializeResult:
    """What ``teal.materialize`` returns: the build result plus every output as Arrow."""

    result: BuildResult
    outputs: dict[str, Any]

    @property
    def success(self) -> bool:
        return self.result.success

    def output_for(self, asset: str | AssetDef) -> Any:
        """The rows the asset wrote, as a ``pyarrow.Table``."""
        name = asset.name if isinstance(asset, AssetDef) else asset
        return self.outputs[name]

    def __getitem__(self, model: str) -> Any:
        return self.result[model]


def materialize(
    assets: list[AssetDef],
    *,
    inputs: dict[str, Any] | None = None,
    warehouse: str | Path = ":memory:",
    vars: dict[str, Any] | None = None,
    raise_on_error: bool = True,
) -> MaterializeResult:
    """Run Python assets in dependency order, as Dagster's ``materialize`` does in tests.

    ``inputs`` gives data (Arrow, Polars, pandas) for upstream names that are not among
    ``assets``. Outputs come back as Arrow tables: ``result.output_for("name")``.
    """
    from teal.warehouse import io

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
    project = project_from_assets(cfg, list(assets))
    plan = build_plan(project)
    with Warehouse(cfg.warehouse_path) as wh:
        if inputs:
            wh.ensure_schemas({"inputs"})
            for name, data in inputs.items():
                with registered(wh.conn, io.scannable(data), name) as view:
                    wh.conn.execute(
                        f"CREATE OR REPLACE TABLE {qualified('inputs', name)} AS "
                        f"SELECT * FROM {view}"
                    )
        result = execute_plan(project, plan, command="materialize", threads=1, warehouse=wh)
        outputs = {}
        for r in result.built:
            model = project.models[r.model]
            outputs[r.model] = wh.conn.sql(
                f"SELECT * FROM {qualified(model.schema, model.alias)}"
            ).to_arrow_table()
    if raise_on_error and not result.success:
        failed = result.failed[0] if result.failed else result.skipped[0]
        raise ExecutionError(
            f"asset '{failed.model}' failed: {failed.message}", path=failed.path, line=failed.line
        )
    return MaterializeResult(result=result, outputs=outputs)


@dataclass(frozen=True)
class CheckRun:
    """What ``teal check`` returns."""

    run_id: str
    outcomes: tuple[Any, ...]
    missing: tuple[str, ...]  # selected models with checks whose relation does not exist

    @property
    def success(self) -> bool:
        return not any(o.blocks for o in self.outcomes)


def run_checks(
    project: Project, names: list[str], *, store_failures: bool = False, run_id: str | None = None
) -> CheckRun:
    """Run the checks of ``names`` against what is published now (no build)."""
    from teal.runtime.checking import AuditFailed, Auditor
    from teal.warehouse import io
    from teal.warehouse.materialize import Catalog

    import_python(project, set(names), assets=False)
    run_id = run_id or new_run_id()
    auditor = Auditor(project, run_id, store_failures)
    outcomes: list[Any] = []
    missing: list[str] = []
    started = _now()
    with Warehouse(project.config.warehouse_path, sources=project.sources) as wh:
        cur = wh.cursor()
        catalog = Catalog(cur)  # one catalog scan, not one per checked model
        for name in names:
            model = project.models[name]
            if not model.checks:
                continue
            if model.materialized == "ephemeral":
                relation = f"({model.compiled_sql})"
            elif catalog.kind(model.schema, model.alias) is not None:
                relation = qualified(model.schema, model.alias)
            else:
                missing.append(name)
                continue
            try:
                outcomes += auditor.audit(cur, name, relation)
            except AuditFailed as failed:
                outcomes += failed.outcomes
                auditor.store(cur, failed)

            def load(param: str, kind: str) -> Any:
                up = project.models[param]
                return io.load(cur, f"SELECT * FROM {qualified(up.schema, up.alias)}", kind)

            outcomes += auditor.run_python(cur, name, load)
        state.record_run(
            wh.conn,
            run_id=run_id,
            command="check",
            started_at=started,
            finished_at=_now(),
            status="success" if not any(o.blocks for o in outcomes) else "error",
            selected=len(names),
            succeeded=sum(o.status == "pass" for o in outcomes),
            failed=sum(o.blocks for o in outcomes),
            skipped=missing,
        )
    return CheckRun(run_id=run_id, outcomes=tuple(outcomes), missing=tuple(missing))
