"""The daemon's evaluator of models' automation conditions (compiler/automation_conditions.py):
every ``[daemon] automation_interval`` (30 s) it decides which models' conditions fire now
and queues one run building them, recorded as a tick of the sensor
``automation_conditions`` (Dagster's ``default_automation_condition_sensor``).

What is out of date is teal's own rule, not a new one: the plan a ``--changed-only`` build
of the models with conditions would make (compiler/passes.py ``skip_unchanged``, with
partition staleness from compiler/partition_pass.py), read as each condition says:

- ``eager``: the model is never built, missing, failed, or would be built from other data
  (its code, config, vars, a file source or an upstream's data changed: its data version
  differs); an upstream rebuilt from the same data does not count. A time-partitioned
  model: its latest partition only; static and dynamic ones: each key out of date.
- ``on_missing``: never built (its latest time partition, or each static key missing).
- ``on_cron``: once after each tick, when every upstream model with a condition has been
  built since the tick (a model without one is built by something else: it needs only be
  built). A newly seen condition starts with the tick after it is first evaluated.

A model waits while it or an upstream model is in a queued or started run, and while an
upstream model is missing or failed its latest build (unless that upstream fires in the
same evaluation). Models whose conditions fire together go in one run, in dependency
order; a model out of date only because an upstream in that run rebuilds is in it too
(the models are evaluated again without those that do not fire, until none drops out).

The evaluator asks for a model at most once per what it would be built from: the cursor
kept with each tick (in the transaction that queues its run) holds the version asked for,
until the model is up to date again. So a failed build is not asked for again until its
code or what it reads changes, and a daemon killed after a tick does not repeat it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from teal.compiler.automation_conditions import SENSOR_NAME, AutomationCondition, parse_condition
from teal.compiler.errors import TealError, WarehouseBusy
from teal.compiler.key_runs import KeyOrder, describe_keys
from teal.compiler.plan import PlanOptions, PlanState, Step, build_plan, step_upstreams
from teal.compiler.wording import counted
from teal.runtime.runstore import RunStatus, RunStore, Trigger
from teal.runtime.runstore.ticks import TickStatus

if TYPE_CHECKING:
    from teal.compiler.partitions import Partitions
    from teal.compiler.project import Project
    from teal.compiler.versions import DataVersions
    from teal.runtime.daemon import Daemon, TickOutcome
    from teal.runtime.session import Session

SOURCE = f"sensor:{SENSOR_NAME}"
SHOWN = 5  # models named in a tick's message; more are counted


@dataclass(frozen=True)
class Cursor:
    """What the evaluator remembers between evaluations (kept in the run store)."""

    # model -> what it was last asked to be built from, while it stays out of date
    asked: Mapping[str, str] = field(default_factory=dict)
    # on_cron model -> its latest tick handled (asked for, or first seen), ISO in UTC
    ticks: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        found = json.loads(text) if text else {}
        return cls(dict(found.get("asked", {})), dict(found.get("ticks", {})))

    def dump(self) -> str:
        return json.dumps({"asked": self.asked, "ticks": self.ticks}, sort_keys=True)


@dataclass(frozen=True)
class Verdict:
    """One model's condition as evaluated: whether it fires and why (or why not)."""

    model: str
    condition: str
    fires: bool
    reason: str
    out_of_date: bool = False  # what it is built from changed (fires, waits, or was asked)
    partitions: tuple[str, ...] = ()  # the keys it builds (a partitioned model)
    signature: str = ""  # what it would be built from now (its versions)
    tick: str | None = None  # on_cron: the tick it handles (fires for, or first saw)


@dataclass(frozen=True)
class Evaluation:
    verdicts: tuple[Verdict, ...]
    cursor: Cursor

    @property
    def firing(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.fires)

    def summary(self) -> str:
        """The tick's message: what it builds and why, or why nothing."""
        firing = self.firing
        if firing:
            named = [f"{v.model} ({v.reason})" for v in firing[:SHOWN]]
            more = f" and {len(firing) - SHOWN} more" if len(firing) > SHOWN else ""
            return "builds " + ", ".join(named) + more
        waiting = [v for v in self.verdicts if v.out_of_date]
        text = f"nothing to build: {counted(len(self.verdicts) - len(waiting), 'model')} up to date"
        if waiting:
            first = waiting[0]
            text += f", {len(waiting)} waiting ({first.model}: {first.reason})"
        return text


def conditions_of(project: Project) -> dict[str, AutomationCondition]:
    """The models with an automation condition (ephemeral ones are never built)."""
    return {
        name: parse_condition(model.config["automation_condition"])
        for name, model in project.models.items()
        if model.config.get("automation_condition") and model.materialized != "ephemeral"
    }


def evaluate_conditions(
    project: Project,
    state: PlanState,
    now: datetime,
    *,
    in_flight: frozenset[str] = frozenset(),
    cursor: Cursor | None = None,
) -> Evaluation:
    """Each conditioned model's verdict at ``now`` (naive UTC) against ``state``;
    ``in_flight``: the models of queued and started runs."""
    from teal.compiler.versions import DataVersions

    cursor = cursor or Cursor()
    conditions = conditions_of(project)
    at = now.replace(tzinfo=UTC)
    versions = DataVersions(project, state, at)
    models = frozenset(project.models)
    judge = _Judge(project, state, at, in_flight, cursor, versions, frozenset(conditions), models)
    candidates = set(conditions)
    verdicts: dict[str, Verdict] = {}
    options = PlanOptions(changed_only=True, now=at)
    while True:  # without the models that do not fire, until none drops out
        plan = build_plan(project, sorted(candidates), state=state, options=options)
        steps = {s.model: s for s in plan.steps}
        firing: set[str] = set()
        for name in project.dag.order():
            if name in candidates:
                step = steps.get(name)
                fresh = _up_to_date(plan.not_run.get(name, "up to date"))
                verdicts[name] = judge.verdict(name, conditions[name], step, fresh, firing)
                if verdicts[name].fires:
                    firing.add(name)
        if firing == candidates or not firing:  # (no selection would plan every model)
            break
        candidates = firing
    # a model that waits was judged beside upstreams planned to rebuild that do not fire (a
    # failed one): judged again beside those that do, its reason is what holds (in-flight
    # ones wait whatever their reason, and a large queued run would cost a plan each)
    for name, found in list(verdicts.items()):
        ups = step_upstreams(project, name, frozenset(conditions)) - firing
        if found.fires or not found.out_of_date or not ups or "queued or started" in found.reason:
            continue
        plan = build_plan(project, sorted(firing | {name}), state=state, options=options)
        step = next((s for s in plan.steps if s.model == name), None)
        fresh = _up_to_date(plan.not_run.get(name, "up to date"))
        again = judge.verdict(name, conditions[name], step, fresh, firing)
        if not again.fires:  # firing now would leave out what reads it: next time
            verdicts[name] = again
    ordered = tuple(verdicts[n] for n in sorted(verdicts))
    return Evaluation(ordered, _next_cursor(cursor, ordered))


def _next_cursor(before: Cursor, verdicts: Sequence[Verdict]) -> Cursor:
    asked: dict[str, str] = {}
    ticks: dict[str, str] = {}
    for v in verdicts:
        if v.fires:
            asked[v.model] = v.signature
        elif v.out_of_date and v.model in before.asked:
            asked[v.model] = before.asked[v.model]  # still out of date: asked for already
        if v.tick is not None:
            ticks[v.model] = v.tick
        elif v.model in before.ticks:
            ticks[v.model] = before.ticks[v.model]
    return Cursor(asked, ticks)


@dataclass
class _Judge:
    """Verdicts against one state and clock (models in ``project.dag.order()``, so an
    upstream's verdict is known before its readers')."""

    project: Project
    state: PlanState
    now: datetime  # aware UTC
    in_flight: frozenset[str]
    cursor: Cursor
    versions: DataVersions
    conditioned: frozenset[str]  # the models with a condition
    models: frozenset[str]  # every model (what upstreams are looked for among)

    def verdict(
        self,
        name: str,
        condition: AutomationCondition,
        step: Step | None,
        fresh: str,
        firing: set[str],
    ) -> Verdict:
        """``step``: the model's in the plan (None: ``fresh`` says why it has none);
        ``firing``: the models upstream of it that fire."""
        said = str(condition)
        if condition.kind == "on_cron":
            return self._on_cron(name, condition, firing)
        if step is None:
            return Verdict(name, said, False, fresh)
        keys, why = self._outdated(name, step, missing_only=condition.kind == "on_missing")
        if why is None:
            return Verdict(name, said, False, keys[0] if keys else "up to date")
        signature = _signature(step, keys)
        wait = step.blocked or self._waiting(name, keys, firing)
        if wait is None and self.cursor.asked.get(name) == signature:
            wait = "asked for already with what it reads now (again when that changes)"
        if wait is not None:
            return Verdict(name, said, False, f"{why}; waits: {wait}", True, keys, signature)
        return Verdict(name, said, True, why, True, keys, signature)

    def _outdated(
        self, name: str, step: Step, *, missing_only: bool
    ) -> tuple[tuple[str, ...], str | None]:
        """The keys it would build (a partitioned model) and why it is out of date, as the
        plan says it; why None: it is not (``missing_only``: not missing), said by the one
        key given instead. An upstream rebuilt after it from the same data leaves it up to
        date: what it reads did not change."""
        if not step.partitions:
            why = step.reason
            recorded = self.state.models.get(name)
            if why.startswith("upstream ") and why.endswith(" was rebuilt after it"):
                if recorded is not None and recorded.data_version == step.data_version != "":
                    return (f"up to date ({why}, from the same data)",), None
                why += ", with other data"
            if missing_only and not why.startswith(("new:", "missing:")):
                return (f"built ({why}: on_missing does not build it again)",), None
            return (), why
        definition = self.project.models[name].partitions
        assert definition is not None
        wanted = _latest_keys(definition, self.now)
        order = KeyOrder(definition.keys(self.now))  # which keys follow each other
        reasons = dict(zip(step.partitions, step.partition_reasons, strict=False))
        keys = tuple(
            k for k in wanted if k in reasons and (reasons[k] == "missing" or not missing_only)
        )
        if not keys:
            what = "nothing missing" if missing_only else "up to date"
            return (
                f"partition{'s' if len(wanted) > 1 else ''} {describe_keys(wanted, order)} {what}",
            ), None
        return keys, _keys_reason(keys, [reasons[k] for k in keys], order)

    def _on_cron(self, name: str, condition: AutomationCondition, firing: set[str]) -> Verdict:
        said = str(condition)
        latest = _latest_tick(condition, self.now)
        seen = self.cursor.ticks.get(name)
        tick = latest.isoformat()
        zone = ZoneInfo(condition.timezone)
        shown = f"{latest.astimezone(zone):%Y-%m-%d %H:%M %Z}"
        coming = f"{_next_tick(condition, latest).astimezone(zone):%Y-%m-%d %H:%M %Z}"
        if seen is None:  # first seen: it starts with the next tick, as a new schedule
            why = f"first seen: fires from the next tick, at {coming}"
            return Verdict(name, said, False, why, tick=tick)
        if datetime.fromisoformat(seen) >= latest:  # asked for, or first seen at this tick
            return Verdict(name, said, False, f"waits for the next tick, at {coming}")
        wait = self._waiting(name, (), firing, since=latest)
        if wait is not None:
            return Verdict(name, said, False, f"tick at {shown} passed; waits: {wait}", True)
        definition = self.project.models[name].partitions
        keys = tuple(_latest_keys(definition, self.now)) if definition is not None else ()
        why = f"tick at {shown} passed and its upstreams were updated since"
        return Verdict(name, said, True, why, True, keys, tick=tick)

    def _waiting(
        self,
        name: str,
        keys: tuple[str, ...],
        firing: set[str],
        *,
        since: datetime | None = None,
    ) -> str | None:
        """Why ``name`` may not be built now, or None: it or an upstream model is in a
        queued or started run; an upstream model not built in the same run is missing or
        failed its latest build; (``since``, on_cron's tick) an upstream model with a
        condition was not built since the tick."""
        if name in self.in_flight:
            return "in a queued or started run"
        for up in sorted(step_upstreams(self.project, name, self.models)):
            if up in self.in_flight:
                return f"upstream {up} is in a queued or started run"
            if up in firing:
                continue  # built first in the same run
            problem = self._upstream_problem(name, up, keys)
            if problem is not None:
                return f"upstream {up} {problem}"
            if since is not None and up in self.conditioned and not self._built_since(up, since):
                return f"upstream {up} was not updated since the tick"
        return None

    def _upstream_problem(self, name: str, up: str, keys: tuple[str, ...]) -> str | None:
        """Whether upstream ``up`` is missing or failed its latest build: a partitioned
        one through the partitions ``keys`` of ``name`` read (read whole: whether any
        partition was built, and its most recent build)."""
        model = self.project.models[up]
        if model.partitions is None:
            if self.state.models.get(up) is None:
                return "was never built"
            if self.state.last_results.get(up) == "error":
                return "failed its latest build"
            return None
        records = self.state.partitions.get(up)
        if not records:
            return "was never built"
        if self.project.models[name].partitions is not None and keys:
            read = {k for key in keys for k in self.versions.upstream_keys(name, up, key)}
            for key in sorted(read):
                record = records.get(key)
                if record is None:
                    return f"partition {key} was never built"
                if record.get("status") != "success":
                    return f"partition {key} failed its latest build"
            return None
        rows = list(records.columns("status", "finished_at"))
        if not any(status == "success" for _, status, _ in rows):
            return "was never built"
        latest = max(rows, key=lambda r: r[2] or datetime.min)
        if latest[1] != "success":
            return f"partition {latest[0]} failed its latest build"
        return None

    def _built_since(self, up: str, since: datetime) -> bool:
        """Whether ``up`` was built successfully after ``since`` (aware UTC)."""
        after = since.replace(tzinfo=None)
        recorded = self.state.models.get(up)
        if recorded is not None and _naive(recorded.finished_at) > after:
            return True
        records = self.state.partitions.get(up)
        if not records:
            return False
        return any(
            status == "success" and at is not None and _naive(at) > after
            for _, status, at in records.columns("status", "finished_at")
        )


def _up_to_date(why: str) -> str:
    """A plan's reason for no step, as a verdict says it."""
    if why.startswith("unchanged since last build"):
        return "up to date"
    return why


def _keys_reason(keys: Sequence[str], reasons: Sequence[str], order: KeyOrder) -> str:
    """``partition 2026-03-02: missing`` or ``partitions a, b: 1 missing, 1 stale (...)``."""
    what = f"partition{'s' if len(keys) > 1 else ''} {describe_keys(keys, order)}"
    kinds = dict.fromkeys(reasons)
    if len(kinds) == 1:
        return f"{what}: {reasons[0]}"
    return f"{what}: " + ", ".join(f"{reasons.count(r)} {r}" for r in kinds)


def _signature(step: Step, keys: Sequence[str]) -> str:
    """What ``step`` builds now: its data version, or its keys with their versions."""
    if not keys:
        return step.data_version
    version = dict(zip(step.partitions, step.partition_versions, strict=False))
    text = "\x1f".join(f"{k}={version.get(k, '')}" for k in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _latest_keys(definition: Partitions, now: datetime) -> list[str]:
    """The keys a condition builds: of a time-partitioned model its latest window (with a
    static dimension, each key of that window), as Dagster builds only the latest time
    partition; of a static or dynamic one, every key."""
    from teal.compiler.partitions import MultiPartitions, time_partitions

    time = time_partitions(definition)
    keys = definition.keys(now)
    if time is None or not keys:
        return keys
    windows = time.keys(now)
    if not isinstance(definition, MultiPartitions):
        return windows[-1:]
    (time_name, _), (other_name, other) = sorted(
        definition.dimensions, key=lambda d: d[1] is not time
    )
    return [
        definition.make_key({time_name: windows[-1], other_name: key}) for key in other.keys(now)
    ]


def _latest_tick(condition: AutomationCondition, now: datetime) -> datetime:
    """The latest tick of an on_cron condition at or before ``now`` (aware UTC)."""
    from croniter import croniter

    start = now.astimezone(ZoneInfo(condition.timezone))
    before: datetime = croniter(condition.cron, start).get_prev(datetime)
    after: datetime = croniter(condition.cron, before).get_next(datetime)
    return (after if after <= start else before).astimezone(UTC)


def _next_tick(condition: AutomationCondition, tick: datetime) -> datetime:
    """The tick of an on_cron condition after ``tick`` (aware UTC)."""
    from croniter import croniter

    start = tick.astimezone(ZoneInfo(condition.timezone))
    found: datetime = croniter(condition.cron, start).get_next(datetime)
    return found.astimezone(UTC)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def in_flight(session: Session, store: RunStore | None) -> frozenset[str]:
    """The models of the project's queued and started runs (their selections resolved
    against the project as it is; a selection that no longer resolves counts as every
    model). Checks and freshness evaluations build nothing."""
    if store is None:
        return frozenset()
    active = [RunStatus.QUEUED, RunStatus.STARTED, RunStatus.CANCELING]
    found: set[str] = set()
    for run in store.runs(status=active, limit=1000):
        if run.command in ("check", "test"):
            continue
        try:
            found.update(session.select(list(run.selection) or None, list(run.exclude) or None))
        except TealError:
            return frozenset(session.project.models)
    return frozenset(found)


def evaluate_now(session: Session, store: RunStore | None, now: datetime) -> Evaluation:
    """The project's conditions at ``now`` (naive UTC) as the daemon would evaluate them,
    with the evaluator's cursor and the runs in ``store`` (None: none)."""
    project = session.project
    if not conditions_of(project):
        return Evaluation((), Cursor())
    from teal.runtime.runstore.ticks import TickStore

    cursor = Cursor.parse(TickStore(store).cursor(SOURCE)) if store is not None else Cursor()
    return evaluate_conditions(
        project, session.state(), now, in_flight=in_flight(session, store), cursor=cursor
    )


@dataclass
class Conditions:
    """The evaluator as the daemon keeps it between steps: what it last said (a skip reason
    or a failure), so that its output says a repeated one once. Every evaluation is a tick
    in the run store all the same."""

    said: str | None = None

    def step(self, d: Daemon, now: datetime, paused: set[str]) -> list[TickOutcome]:
        """Evaluate (once ``[daemon] automation_interval`` passed since the last time) and
        record the tick: the run it queues, or why nothing is built (``paused``: the
        schedules and sensors paused, as the daemon read them)."""
        if not d._due(SENSOR_NAME, d.config.automation.daemon.automation_interval, now):
            return []
        tick = d.tick_time(SOURCE, now)
        if SOURCE in paused:
            resume = f"`teal sensors resume {SENSOR_NAME}` or the UI resumes it"
            return self._skipped(d, tick, now, f"paused ({resume})")
        try:  # the step's project (runtime/daemon_load.py), shared with freshness
            session = d.loads.session()
        except TealError as exc:  # reported by the loads, once per distinct error
            return self._not_loading(d, tick, now, exc)
        try:
            session.on_warnings = lambda warnings: None  # said by the freshness evaluator
            found = evaluate_now(session, d.store, now)
        except WarehouseBusy:  # a build holds it and no state was kept: the next time
            return self._skipped(d, tick, now, "the warehouse is busy and no state was kept")
        except TealError as exc:
            return self._said(d, tick, now, TickStatus.FAILED, f"evaluation failed: {exc}")
        finally:
            session.on_warnings = None  # the step's session: others read it after
        if not found.verdicts:
            return []  # no model has a condition: nothing to record
        cursor = found.cursor.dump()
        if not found.firing:
            return self._skipped(d, tick, now, found.summary(), cursor)
        return [self._request(d, tick, now, found, cursor)]

    def _request(
        self, d: Daemon, tick: datetime, now: datetime, found: Evaluation, cursor: str
    ) -> TickOutcome:
        """Queue the one run of the models that fire, with the cursor, in one transaction."""
        from teal.compiler.automation import Target
        from teal.runtime.daemon import TickOutcome

        firing = found.firing
        target = Target(select=tuple(v.model for v in firing))
        run = d.queued_run(target, Trigger.AUTOMATION, SOURCE, tick, ())
        run.config["model_partitions"] = {
            v.model: list(v.partitions) for v in firing if v.partitions
        }
        run.config["automation"] = {v.model: v.reason for v in firing}  # why each is built
        message = found.summary()
        self.said = None
        if not d.ticks.record(
            SOURCE, tick, TickStatus.REQUESTED, at=now, run=run, cursor=cursor, message=message
        ):
            return TickOutcome(SOURCE, tick, TickStatus.SKIPPED, None, "already recorded")
        return TickOutcome(SOURCE, tick, TickStatus.REQUESTED, run.run_id, message)

    def _not_loading(
        self, d: Daemon, tick: datetime, now: datetime, exc: TealError
    ) -> list[TickOutcome]:
        """A skipped tick: the project does not load. The tick records the error, located
        (`teal sensors`, the UI); the daemon's output says the skip once until the project
        loads again, the error itself being said once by the loads."""
        from teal.runtime.daemon import TickOutcome
        from teal.runtime.daemon_load import NOT_LOADING

        message = f"{NOT_LOADING}: {exc}"
        recorded = d.ticks.record(SOURCE, tick, TickStatus.SKIPPED, at=now, message=message)
        self.said = NOT_LOADING
        if not recorded or not d.loads.skipped(SOURCE):
            return []
        return [TickOutcome(SOURCE, tick, TickStatus.SKIPPED, None, NOT_LOADING)]

    def _skipped(
        self, d: Daemon, tick: datetime, now: datetime, message: str, cursor: str | None = None
    ) -> list[TickOutcome]:
        return self._said(d, tick, now, TickStatus.SKIPPED, message, cursor)

    def _said(
        self,
        d: Daemon,
        tick: datetime,
        now: datetime,
        status: str,
        message: str,
        cursor: str | None = None,
    ) -> list[TickOutcome]:
        """Record the tick; an outcome for the daemon's output only when what it says
        changed (a skip every 30 s would be a line every 30 s)."""
        from teal.runtime.daemon import TickOutcome

        recorded = d.ticks.record(SOURCE, tick, status, at=now, message=message, cursor=cursor)
        if not recorded or message == self.said:
            return []
        self.said = message
        return [TickOutcome(SOURCE, tick, status, None, message)]
