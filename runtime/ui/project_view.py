"""What the UI shows of the project: the asset graph with each asset's status, an asset's
page, its partitions and a preview of its data.

Everything is read from the compiled project (a :class:`Session`, reloaded when a model
file changes) and from state kept outside the warehouse (the planner's kept state, the run
store): no page holds the warehouse. Only a data preview opens it, read-only and briefly,
and only when no build holds it.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.errors import NotFound, TealError, did_you_mean
from teal.compiler.plan import PlanState
from teal.compiler.project import Model, Project
from teal.runtime.session import Session

# how often (at most) the model files are looked at for edits
CHANGE_CHECK_S = 1.0
PREVIEW_ROWS = 50
STATUS_CLOCK_S = 300  # statuses are computed again at least this often

# an asset's status in the graph (an ephemeral model is never built: it is inlined)
FRESH, STALE, FAILED, NEVER, PARTIAL = "fresh", "stale", "failed", "never built", "partial"
EPHEMERAL = "ephemeral"


@dataclass
class ProjectView:
    """One project, kept loaded for a long-lived server; thread-safe."""

    session: Session
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _fingerprint: tuple[tuple[str, int, int], ...] = ()
    _checked_at: float = 0.0
    # why the files as they are now do not load: raised by every request that needs the
    # project until a file changes (never the last good project, silently)
    _error: TealError | None = None
    # the statuses of the last graph, and what they were computed from: the project loaded
    # and the warehouse file as it was (planning 5,000 models costs most of a graph request)
    _statuses: tuple[tuple[object, ...], dict[str, str]] | None = None
    _loads: int = 0  # the project's loads so far: the graph redraws when it changes

    @property
    def project(self) -> Project:
        """The project, read again when a file under the models or check folders changed;
        raises the load's error, the same at every request, while the files do not load."""
        return self._current(force=False)

    def _current(self, force: bool) -> Project:
        """The project; its files are looked at when ``force`` or at most once a second."""
        with self._lock:
            now = time.monotonic()
            if force or now - self._checked_at >= CHANGE_CHECK_S:
                self._checked_at = now
                seen = _fingerprint(self.session.config)
                if seen != self._fingerprint:
                    first = not self._fingerprint
                    self._fingerprint = seen
                    try:  # a failed reload keeps the old project: it must not be shown
                        _ = self.session.project if first else self.session.reload()
                        self._error = None
                        self._loads += 1
                    except TealError as exc:
                        self._error = exc
            if self._error is not None:
                raise copy.copy(self._error)  # one instance per request thread
            return self.session.project

    def model(self, name: str) -> Model:
        project = self.project
        if name not in project.models:
            # a model just added must not wait out the once-a-second check: look now
            project = self._current(force=True)
        if name not in project.models:
            raise NotFound(
                f"no model named '{name}'",
                path="asset",
                hint=did_you_mean(name, project.models) or "the graph lists every asset",
            )
        return project.models[name]

    # -- the graph -----------------------------------------------------------------------
    def graph(self, select: str = "", exclude: str = "") -> dict[str, Any]:
        """Every model and source with its edges, group and status; ``select``: the names
        the selection (the CLI's grammar) picks."""
        project = self.project
        state = self._state()
        statuses = self.statuses(state)
        nodes: list[dict[str, Any]] = []
        edges: list[list[str]] = []
        for name, m in project.models.items():
            nodes.append(
                {
                    "id": name,
                    "kind": "python" if m.kind == "python" else "model",
                    # boxed by the group it declares (@teal.asset(group=...)), else its folder
                    "group": _group(m) or m.folder or "(top)",
                    "folder": m.folder or "(top)",
                    # what a click on its box selects: the group, or the folder's models
                    "group_selector": f"group:{_group(m)}" if _group(m) else m.folder,
                    "materialized": m.materialized,
                    "relation": m.relation,
                    "status": statuses.get(name, FRESH),
                    "tags": list(m.tags),
                    "checks": list(m.checks),
                    "partitioned": m.partitions is not None,
                }
            )
            edges += [[up, name] for up in m.upstreams]
            edges += [[f"source:{t}", name] for t in m.source_tables]
        for source in project.sources.values():
            for table in source.tables.values():
                nodes.append(
                    {
                        "id": f"source:{table.key}",
                        "kind": "source",
                        "group": f"source {source.name}",
                        "materialized": table.kind,
                        "relation": table.location,
                        "status": "source",
                        "tags": [],
                        "checks": [],
                        "partitioned": table.partitions is not None,
                    }
                )
        selected = (
            self.session.select(select or None, exclude or None) if select or exclude else None
        )
        return {
            "project": project.config.name,
            "version": self._loads,
            "nodes": nodes,
            "edges": edges,
            "selected": selected,
        }

    def model_statuses(self) -> dict[str, Any]:
        """Every model's status now, and the version of the project they are of: what the
        graph polls, so a build from the command line shows without a reload (computed
        again only when the warehouse changed), and an edited file redraws it."""
        project = self.project
        found = self.statuses(self._state())
        return {
            "statuses": {name: found.get(name, FRESH) for name in project.models},
            "version": self._loads,
        }

    def _state(self) -> PlanState:
        """Earlier runs' state, as the session reads it without holding the warehouse (the
        state kept from its last read while a build holds it). A build that holds a
        warehouse no read has kept (its first build, launched from this page) leaves
        nothing to show: nothing is known built yet, rather than every page an error."""
        from teal.compiler.errors import WarehouseBusy

        try:
            return self.session.state()
        except WarehouseBusy:
            return PlanState()

    def statuses(self, state: PlanState) -> dict[str, str]:
        """model -> fresh | stale | failed | never built | partial | ephemeral, from the
        warehouse's kept state: what a changed-only plan would rebuild is stale."""
        from teal.runtime.kept_state import file_identity

        project = self.project
        # and the clock, coarsely: time partitions come due as time passes
        key = (
            id(project),
            file_identity(Path(self.session.config.warehouse_path)),
            int(time.time() // STATUS_CLOCK_S),
        )
        if self._statuses is not None and self._statuses[0] == key:
            return self._statuses[1]
        found = self._compute_statuses(project, state)
        self._statuses = (key, found)
        return found

    def _compute_statuses(self, project: Project, state: PlanState) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            plan = self.session.plan(options=self.session.options(changed_only=True))
        except TealError:
            plan = None
        for step in plan.steps if plan is not None else ():
            model = project.models[step.model]
            built = step.model in state.models or step.model in state.partitions
            if not built:
                out[step.model] = NEVER
            elif model.partitions is not None and any(
                r.startswith("missing") for r in step.partition_reasons
            ):
                out[step.model] = PARTIAL
            else:
                out[step.model] = STALE
        for name, result in state.last_results.items():
            if result == "error" and name in project.models:
                out[name] = FAILED
        for name, failures in state.failed_checks.items():
            # as the planner: a check since removed stands for nothing
            if name in project.models and any(f.check in project.checks for f in failures):
                out[name] = FAILED
        for name, m in project.models.items():
            if m.materialized == "ephemeral":
                out[name] = EPHEMERAL
            elif name not in state.models and name not in state.partitions and name not in out:
                out[name] = NEVER
        return out

    def _no_relation(self, m: Model) -> str:
        """Why a model has nothing to preview: not built yet, or (built) kept by an I/O
        manager that offers no view in the warehouse (as `teal show` says)."""
        state = self._state()
        if m.io_manager is not None and (m.name in state.models or m.name in state.partitions):
            return (
                f"{m.name} is kept by its I/O manager '{m.io_manager}', which offers no view "
                "in the warehouse to preview"
            )
        return f"{m.name} has not been built yet: teal build -s {m.name}"

    # -- one asset -----------------------------------------------------------------------
    def freshness(self, name: str) -> dict[str, str] | None:
        """The asset's freshness now (:func:`freshness_now`): the graph's summary shows it."""
        self.model(name)
        return freshness_now(self.project, self._state(), name)

    def asset(self, name: str) -> dict[str, Any]:
        # an asset's page shows its checks: a check file added just before must not wait
        # out the once-a-second look (the page is opened by a person, not polled)
        project = self._current(force=True)
        m = self.model(name)
        downstream = sorted(n for n, other in project.models.items() if name in other.upstreams)
        state = self._state()
        built = state.models.get(name)
        checks = []
        for check_name in m.checks:
            check = project.checks[check_name]
            checks.append(
                {
                    "name": check_name,
                    "kind": check.kind,
                    "severity": check.severity,
                    "column": getattr(check, "column", None),
                    "description": getattr(check, "description", "") or "",
                }
            )
        return {
            "name": name,
            "kind": m.kind,
            "path": m.display_path,
            "line": m.line,
            "relation": m.relation,
            "materialized": m.materialized,
            "description": m.description,
            "tags": list(m.tags),
            "group": _group(m) or m.folder,
            "folder": m.folder,
            "upstreams": list(m.upstreams),
            "sources": list(m.source_tables),
            "downstreams": downstream,
            "raw_sql": m.raw_sql if m.kind == "sql" else _python_source(m),
            "compiled_sql": m.compiled_sql,
            "columns": list(m.columns or ()),
            "checks": checks,
            "partitioned": m.partitions is not None,
            "partition_dimensions": _dimensions(m),
            "status": self.statuses(state).get(name, FRESH),
            "last_built_at": built.finished_at.isoformat(sep=" ", timespec="seconds")
            if built
            else None,
            "last_result": state.last_results.get(name),
            "freshness": freshness_now(project, state, name),
        }

    def column_lineage(self, name: str) -> dict[str, Any]:
        """Each output column of the asset: the upstream columns it is made of (with the
        kind of edge) and the columns downstream that read it (compiler/column_lineage.py;
        computed once per project load, from the lineage cache when it is warm)."""
        self.model(name)
        with self._lock:
            graph = self.session.columns()
        found = graph.models.get(name)
        if found is None or found.columns is None:
            return {"known": False, "columns": []}
        return {
            "known": True,
            "columns": [
                {
                    "name": c.name,
                    "resolved": c.resolved,
                    "upstream": [
                        {"kind": e.kind, "table": e.table, "column": e.column} for e in c.edges
                    ],
                    "downstream": [
                        {"model": u.model, "column": u.column, "kind": u.kind}
                        for u in graph.uses(name, c.name)
                    ],
                }
                for c in found.columns
            ],
        }

    def partitions(self, name: str) -> list[dict[str, Any]]:
        self.model(name)
        return self.session.partitions(name)

    def preview(self, name: str) -> dict[str, Any]:
        """The first rows of the asset's relation, from a short read-only connection; when
        a build holds the warehouse, says so instead of waiting."""
        from teal.compiler.errors import WarehouseBusy
        from teal.warehouse.engine import open_engine

        m = self.model(name)
        if m.materialized == "ephemeral":
            return {
                "available": False,
                "message": f"{name} is ephemeral: it has no relation of its own, it is "
                "inlined into the models that read it",
            }
        path = self.session.config.warehouse_path
        if not Path(path).exists():
            return {"available": False, "message": "the warehouse has not been built yet"}
        try:
            with open_engine(self.session.config, path=path, read_only=True) as wh:
                found = wh.catalog().kind(m.schema, m.alias) is not None
                table = wh.preview(m.schema, m.alias, PREVIEW_ROWS) if found else None
        except WarehouseBusy:
            return {
                "available": False,
                "message": "a build holds the warehouse now: the preview is back when it ends",
            }
        except TealError as exc:
            return {"available": False, "message": exc.message}
        if table is None:  # the state read after the warehouse is closed again
            return {"available": False, "message": self._no_relation(m)}
        return {
            "available": True,
            "columns": table.column_names,
            "rows": [[_cell(v) for v in row.values()] for row in table.to_pylist()],
        }


def _cell(value: object) -> object:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _dimensions(m: Model) -> list[str]:
    definition = m.partitions
    if definition is None:
        return []
    dimensions = getattr(definition, "dimensions", None)
    if dimensions:
        return [str(name) for name, _ in dimensions]
    return [type(definition).__name__.removesuffix("Partitions").lower() or "key"]


def freshness_now(project: Project, state: PlanState, name: str) -> dict[str, str] | None:
    """The model's freshness now, as ``teal check --freshness`` evaluates it (from the
    kept state, the warehouse unopened): status (pass, warn, fail), what it says, and the
    policy's max_lag; None without a ``freshness`` config. The graph's status says whether
    the code or upstream data changed, not whether the data is as recent as the policy
    asks, so an overdue asset is shown here, as Dagster's asset page shows it."""
    from teal.runtime.clock import utc_now
    from teal.runtime.freshness import evaluate

    found = evaluate(project, state, [name], utc_now())
    if not found:
        return None
    return {
        "status": found[0].status,
        "message": found[0].message,
        "policy": str(project.models[name].config["freshness"].get("max_lag", "")),
    }


def source_facts(project: Project, key: str) -> dict[str, Any]:
    """What the graph's side panel shows of source table ``key``: where it is read from,
    its description, the models that read it and, for a local file source, its files as
    its version counts them (how many, their size, the newest modification, UTC)."""
    from datetime import UTC, datetime

    from teal.compiler.source_versions import SourceVersions

    try:
        table = project.source_table(key)
    except (KeyError, ValueError):
        raise NotFound(
            f"no source table '{key}'",
            hint=did_you_mean(
                key, [t.key for s in project.sources.values() for t in s.tables.values()]
            )
            or "the graph lists the sources",
        ) from None
    listed = SourceVersions(project).files(key)
    files = None
    if listed is not None:
        newest = max((ns for _, _, ns in listed), default=None)
        files = {
            "count": len(listed),
            "bytes": sum(size for _, size, _ in listed),
            "modified": None
            if newest is None
            else datetime.fromtimestamp(newest / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
    return {
        "key": table.key,
        "kind": table.kind,
        "location": table.location,
        "description": table.description,
        "partitioned": table.partitions is not None,
        "read_by": sorted(n for n, m in project.models.items() if table.key in m.source_tables),
        "files": files,
    }


def _python_source(m: Model) -> str | None:
    try:
        return Path(m.path).read_text(encoding="utf-8")
    except OSError:
        return None


def _fingerprint(cfg: Any) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every file a load reads: the models and check folders, the
    project file, the resources module and the .env file."""
    found = []
    folders = [cfg.models_dir, *(cfg.root / p for p in cfg.check_paths)]
    for folder in folders:
        for top, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
            for name in files:
                path = os.path.join(top, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found.append((path, st.st_size, st.st_mtime_ns))
    for path in (cfg.config_path, cfg.root / "resources.py", cfg.root / ".env"):
        try:
            st = os.stat(path)
        except OSError:
            continue
        found.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


def _group(m: Model) -> str:
    """The group a model declares (``group=`` in its decorator or config), else ""."""
    group = m.config.get("group")
    return group if isinstance(group, str) else ""
