"""``teal daemon``: evaluate schedules and sensors, queue their runs, launch them one at a time.

One small process per project. Each step (about twice a second, teal/cli_daemon.py):

1. it reaps the run it launched, if that ended;
2. it evaluates every schedule (the cron ticks since the last recorded one, with the
   schedule's catch-up policy for ticks missed while no daemon ran) and every sensor whose
   minimum interval has passed, recording each tick and queuing its run in one
   transaction of the run store (runtime/runstore/ticks.py): killed at any moment, a
   restarted daemon neither loses nor repeats a tick;
3. it launches its project's oldest queued run as a ``teal launch RUN`` subprocess (a
   store shared by projects: runtime/daemon_project.py) when none of its runs holds
   the warehouse (DuckDB allows one writer per file: queued runs wait, they never fail on
   the lock). A build started by hand is a started run in the same store, so the daemon
   waits for it too;
4. at most hourly, it deletes the ticks older than ``[daemon.tick_retention]`` keeps
   (runtime/tick_retention.py).

Every ``[daemon] automation_interval`` it also evaluates the models' automation conditions,
a tick of the sensor ``automation_conditions`` (runtime/automation_conditions.py). What
needs the project in a step (those, freshness, a closed schedule's tick) shares one load,
kept from step to step while the project's files are unchanged (runtime/daemon_load.py).

Time comes from the caller (``step(now)``), so tests drive a simulated clock.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING

from teal.compiler.automation import Schedule, Sensor, Target, next_ticks, ticks_between
from teal.compiler.config import ProjectConfig, load_config
from teal.compiler.errors import ProjectError, TealError
from teal.compiler.wording import counted
from teal.runtime.clock import new_run_id, utc_now
from teal.runtime.closed_partitions import NoPartitionClosed, partition_finder
from teal.runtime.daemon_freshness import Evaluator, freshness_evaluator
from teal.runtime.daemon_load import PROJECT, ProjectLoads
from teal.runtime.daemon_project import ADOPTED, adopt_state, renamed, scope_store
from teal.runtime.launcher import Handle, Launcher, SubprocessLauncher
from teal.runtime.pausing import PausesSaid
from teal.runtime.runstore import (
    RunRecord,
    RunStatus,
    RunStore,
    Trigger,
    open_run_store,
    store_spec,
)
from teal.runtime.runstore.ticks import TickStatus, TickStore
from teal.runtime.sensors import guarded
from teal.runtime.tick_retention import prune_ticks

if TYPE_CHECKING:
    from teal.runtime.automation_conditions import Conditions
    from teal.runtime.python_sensors import SensorDef

MAX_CATCHUP = 1000  # ticks a schedule with catchup = "all" queues at most in one step


@dataclass(frozen=True)
class TickOutcome:
    """What one step recorded for a schedule or sensor (for the daemon's own output)."""

    source: str
    tick_at: datetime
    status: str
    run_id: str | None = None
    message: str | None = None

    def describe(self) -> str:
        when = self.tick_at.strftime("%Y-%m-%d %H:%M:%S")
        if self.source in ("ticks", ADOPTED):  # tick retention; ticks of no project adopted
            return f"{self.source} {when}: {self.message}"
        if self.source == "freshness" and self.run_id is not None:
            return f"freshness {when}: {self.message} (recorded as run {self.run_id})"
        if self.source == PROJECT:  # the project does not load (a model being edited)
            if self.status == TickStatus.FAILED:
                return f"project {when}: does not load; runs launched now fail: {self.message}"
            return f"project {when}: {self.message}"
        what = f"queued run {self.run_id}" if self.run_id else self.status
        return f"{self.source} {when}: {what}" + (f" ({self.message})" if self.message else "")


class DaemonRunning(ProjectError):
    """Another daemon holds this project."""


@dataclass
class DaemonLock:
    """One daemon per project: an exclusive lock on ``.teal/daemon.lock``, released when
    the process ends however it ends (kill -9 included)."""

    path: Path
    _fh: IO[str] | None = field(default=None, repr=False)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise DaemonRunning(
                f"a daemon is already running for this project (pid {holder})",
                path=str(self.path),
                hint="stop it first (kill PID), or use `teal daemon --once` from cron",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


@dataclass
class Daemon:
    """Schedules, sensors and the run queue of one project."""

    config: ProjectConfig
    store: RunStore
    launcher: Launcher
    # a tick older than this when evaluated was missed (no daemon ran at its time)
    grace: timedelta = timedelta(seconds=60)
    # partition keys for a "closed" schedule: (selection, exclusion, tick) -> key
    partition_for: Callable[[Target, Schedule, datetime], tuple[str, ...]] | None = None
    on_tick: Callable[[TickOutcome], None] | None = None
    running: Handle | None = None
    # models' freshness at a moment (None: not evaluated); recorded when it changes
    freshness: Evaluator | None = None
    freshness_every: timedelta = timedelta(seconds=60)
    freshness_at: datetime | None = None  # when freshness was last evaluated
    # why freshness failed once the project loaded, as last said
    freshness_problem: str | None = None
    # the project, loaded at most once per step and kept while its files are unchanged
    loads: ProjectLoads = field(init=False, repr=False)
    _sensor_at: dict[str, datetime] = field(default_factory=dict)
    _config_mtime: int | None = None  # the project config file's, as last read
    # each schedule's next tick after its last evaluation: not due before it, so an idle
    # daemon asks the store nothing about it
    _next_due: dict[str, datetime] = field(default_factory=dict)
    # @teal.sensor functions of the project's sensors/ folder (runtime/python_sensors.py)
    python_sensors: dict[str, SensorDef] = field(default_factory=dict)
    _sensor_files: tuple[tuple[str, int], ...] | None = None
    _skipped: dict[str, str] = field(default_factory=dict)  # a sensor's last skip reason
    # a sensor's last unexpected failure, recorded once while it repeats
    _failing: dict[str, str] = field(default_factory=dict)
    # a run-status sensor whose post failed: not tried again before this time
    _post_retry_at: dict[str, datetime] = field(default_factory=dict)
    # when ticks past their retention were last deleted (runtime/tick_retention.py)
    pruned_at: datetime | None = None
    # the models' automation conditions (runtime/automation_conditions.py); None: not evaluated
    conditions: Conditions | None = None
    # the schedules said paused: their skipped ticks are recorded, not said each time
    pauses: PausesSaid = field(default_factory=PausesSaid)

    def __post_init__(self) -> None:
        scope_store(self.store, self.config)  # its ticks, cursors and queue are its project's
        self.loads = ProjectLoads(self.config.root)

    @property
    def ticks(self) -> TickStore:
        return TickStore(self.store)

    # -- one step -----------------------------------------------------------------------------
    def step(self, now: datetime) -> list[TickOutcome]:
        """Reap, evaluate, launch; ``now`` is naive UTC."""
        self.reap()
        problem = self.reload_if_changed()
        if problem is not None and self.on_tick is not None:
            self.on_tick(TickOutcome("config", now, TickStatus.FAILED, None, problem))
        self.loads.begin(now)  # what needs the project loads it once, the first time
        paused = self.ticks.paused()  # by `teal schedules pause` or the UI
        found = self.pauses.said_now(self.config, paused, now)
        for schedule in self.config.automation.schedules.values():
            if schedule.enabled:
                found.extend(
                    self.evaluate_schedule(
                        schedule, now, paused=f"schedule:{schedule.name}" in paused
                    )
                )
        for sensor in self.config.automation.sensors.values():
            if sensor.enabled and f"sensor:{sensor.name}" not in paused:
                evaluate = partial(self.evaluate_sensor, sensor, now)
                found.extend(guarded(self, sensor.name, now, evaluate))
        for definition in self.python_sensors.values():
            if f"sensor:{definition.name}" not in paused:
                evaluate = partial(self.evaluate_python_sensor, definition, now)
                found.extend(guarded(self, definition.name, now, evaluate))
        if self.conditions is not None:
            found.extend(self.conditions.step(self, now, paused))
        found.extend(self.check_freshness(now))
        self.loads.end()
        found[:0] = self.loads.said()  # that it does not load, before what it stopped
        for outcome in found:
            if self.on_tick is not None:
                self.on_tick(outcome)
        self.launch_next()
        prune_ticks(self, now)  # at most hourly
        return found

    def check_freshness(self, now: datetime) -> list[TickOutcome]:
        """Freshness, recorded when it changed (runtime/daemon_freshness.py); a project
        that does not load is reported, and the daemon goes on."""
        from teal.runtime.daemon_freshness import check_freshness

        return check_freshness(self, now)

    def reload_if_changed(self) -> str | None:
        """Read the project config, and the Python sensors' files, again when they changed
        (edited while the daemon runs); a mistake is reported and the last good ones kept."""
        problem = self._reload_python_sensors()
        return self._reload_config() or problem

    def _reload_python_sensors(self) -> str | None:
        from teal.runtime.python_sensors import SENSOR_FOLDER, load_sensors

        folder = self.config.root / SENSOR_FOLDER
        files = (
            tuple((p.as_posix(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*.py")))
            if folder.is_dir()
            else ()
        )
        if files == self._sensor_files:
            return None
        self._sensor_files = files
        try:
            found = load_sensors(self.config.root)
        except TealError as exc:
            return f"{exc} (keeping the Python sensors as they were)"
        clash = set(found) & set(self.config.automation.sensors)
        if clash:
            return f"sensor '{sorted(clash)[0]}' is declared in the config and in {SENSOR_FOLDER}/"
        self.python_sensors = found
        return None

    def _reload_config(self) -> str | None:
        try:
            mtime = self.config.config_path.stat().st_mtime_ns
        except OSError:
            return None
        if self._config_mtime is None:
            self._config_mtime = mtime
            return None
        if mtime == self._config_mtime:
            return None
        self._config_mtime = mtime
        try:
            config = load_config(self.config.root)
            _ = config.automation  # raises the mistake in the jobs, schedules or sensors
        except TealError as exc:
            return f"{exc} (keeping the schedules and sensors as they were)"
        if (why := renamed(self.config, config)) is not None:
            return why
        self.config = config
        self._next_due.clear()
        if self.partition_for is not None:
            self.partition_for = partition_finder(config, self.loads.session)
        if self.freshness is not None:
            self.freshness = freshness_evaluator(config)
        return None

    def reap(self) -> int | None:
        """The exit code of the run this daemon launched, once it ended (None: none ended)."""
        if self.running is None:
            return None
        code = self.running.poll()
        if code is None:
            return None
        settle_exited(self.store, self.running.run_id, code)
        self.running = None
        return code

    def launch_next(self) -> str | None:
        """Launch the oldest queued run if nothing holds the warehouse."""
        if self.running is not None:
            return None
        from teal.runtime.runstore.liveness import run_in_progress

        queued = self.ticks.queued()
        if not queued or run_in_progress(self.store):
            return None  # a run (the daemon's, or one started by hand) holds the warehouse
        self.running = self.launcher.launch(queued[0].run_id)
        return queued[0].run_id

    # -- schedules ----------------------------------------------------------------------------
    def evaluate_schedule(
        self, schedule: Schedule, now: datetime, *, paused: bool = False
    ) -> list[TickOutcome]:
        """Record the schedule's ticks due by ``now`` and queue their runs (``paused``: each
        is recorded skipped, so a resumed schedule does not run what it missed)."""
        due_at = self._next_due.get(schedule.name)
        if due_at is not None and now < due_at:
            return []
        found = self._evaluate_schedule(schedule, now, paused)
        upcoming = next_ticks(schedule, now.replace(tzinfo=UTC), 1)
        if upcoming:
            self._next_due[schedule.name] = _naive(upcoming[0])
        return found

    def _evaluate_schedule(
        self, schedule: Schedule, now: datetime, paused: bool
    ) -> list[TickOutcome]:
        source = f"schedule:{schedule.name}"
        last = self.ticks.last_tick(source)
        if last is None:
            seen = self.ticks.cursor(source)
            if seen is None:  # first seen now: its ticks start here, history is not run
                self.ticks.set_cursor(source, now.isoformat(), now)
                return []
            last = datetime.fromisoformat(seen)
        due = [
            _naive(t)
            for t in ticks_between(schedule, last.replace(tzinfo=UTC), now.replace(tzinfo=UTC))
        ]
        if not due:
            return []
        on_time = [t for t in due if t >= now - self.grace]
        if paused:
            run = set()
        elif schedule.catchup == "all":
            run = set(due[-MAX_CATCHUP:])
        elif schedule.catchup == "latest":
            run = {due[-1]}
        else:
            run = set(on_time)
        outcomes = []
        for tick in due:
            if tick not in run:
                message = (
                    f"paused (`teal schedules resume {schedule.name}` or the UI resumes it)"
                    if paused
                    else f"missed: no daemon ran at that time (catchup = {schedule.catchup})"
                )
                recorded = self.ticks.record(
                    source, tick, TickStatus.SKIPPED, at=now, message=message
                )
                if recorded and not paused:  # a pause is said once (PausesSaid)
                    outcomes.append(TickOutcome(source, tick, TickStatus.SKIPPED, None, message))
                continue
            outcomes.append(self.request(source, tick, now, schedule.target, schedule))
        return outcomes

    def request(
        self,
        source: str,
        tick: datetime,
        now: datetime,
        target: Target,
        schedule: Schedule | None = None,
        *,
        trigger: Trigger = Trigger.SCHEDULE,
        partitions: tuple[str, ...] = (),
        run_key: str | None = None,
        cursor: str | None = None,
        message: str | None = None,
        add_partitions: dict[str, tuple[str, ...]] | None = None,
        vars: dict[str, object] | None = None,
        partitions_of: str | None = None,
        run_config: dict[str, object] | None = None,
    ) -> TickOutcome:
        """Record tick ``tick`` of ``source`` with the run it asks for (and the source's new
        cursor), in one transaction; ``add_partitions``: dynamic partition keys the run adds
        before it builds; ``partitions_of``: the model whose keys ``partitions`` are (an
        asset sensor's), which the run drops when they are not keys of what it builds."""
        busy = self._job_at_limit(target)
        if busy is not None:
            self.ticks.record(source, tick, TickStatus.SKIPPED, at=now, message=busy, cursor=cursor)
            return TickOutcome(source, tick, TickStatus.SKIPPED, None, busy)
        try:
            if schedule is not None and schedule.partition == "closed":
                if self.partition_for is None:
                    raise ProjectError("no project loaded to find the partition of a tick")
                partitions = self.partition_for(target, schedule, tick)
            run = self.queued_run(target, trigger, source, tick, partitions)
            if add_partitions:
                run.config["add_partitions"] = {k: list(v) for k, v in add_partitions.items()}
            if partitions_of is not None and partitions:
                run.config["partitions_of"] = partitions_of
            if vars:
                merged = dict(run.config["vars"]) if isinstance(run.config["vars"], dict) else {}
                merged.update(json.loads(json.dumps(vars, default=str)))
                run.config["vars"] = merged
            if run_config:  # checked against the models' Config classes as the run starts
                run.config["run_config"] = json.loads(json.dumps(run_config, default=str))
        except NoPartitionClosed as exc:  # past the definition's end: nothing to build
            self.ticks.record(
                source, tick, TickStatus.SKIPPED, at=now, message=exc.message, cursor=cursor
            )
            return TickOutcome(source, tick, TickStatus.SKIPPED, None, exc.message)
        except TealError as exc:  # the project does not load, say (located)
            where = f"{exc.location}: " if exc.line is not None else ""
            failed = f"could not queue a run: {where}{exc.message}"
            self.ticks.record(
                source, tick, TickStatus.FAILED, at=now, message=failed, cursor=cursor
            )
            return TickOutcome(source, tick, TickStatus.FAILED, None, failed)
        if not self.ticks.record(
            source,
            tick,
            TickStatus.REQUESTED,
            at=now,
            run=run,
            run_key=run_key,
            cursor=cursor,
            message=message,
        ):
            return TickOutcome(source, tick, TickStatus.SKIPPED, None, "already recorded")
        return TickOutcome(source, tick, TickStatus.REQUESTED, run.run_id, message)

    def _job_at_limit(self, target: Target) -> str | None:
        """Why a run of ``target``'s job may not be queued now (its max_concurrent_runs)."""
        job = self.config.automation.jobs.get(target.job or "")
        if job is None or job.max_concurrent_runs is None:
            return None
        active = self.store.runs(
            status=[RunStatus.QUEUED, RunStatus.STARTED, RunStatus.CANCELING], limit=10_000
        )
        mine = sum(r.config.get("job") == job.name for r in active)
        if mine < job.max_concurrent_runs:
            return None
        return (
            f"job {job.name} already has {counted(mine, 'run')} queued or running "
            f"(max_concurrent_runs = {job.max_concurrent_runs})"
        )

    def queued_run(
        self,
        target: Target,
        trigger: Trigger,
        source: str,
        tick: datetime,
        partitions: tuple[str, ...],
    ) -> RunRecord:
        """The run a tick asks for, as it waits in the queue."""
        from teal import __version__

        select, exclude = target.select, target.exclude
        config: dict[str, object] = {"vars": {}, "tick": tick.isoformat(), "source": source}
        if target.job is not None:
            job = self.config.automation.job(target.job, path=source)
            select, exclude = job.select, job.exclude
            config.update(
                vars=dict(job.vars),
                job=job.name,
                tags=list(job.tags),
                full_refresh=job.full_refresh,
                priority=job.priority,
            )
            partitions = partitions or job.partitions
        return RunRecord(
            run_id=new_run_id(),
            command="build",
            status=RunStatus.QUEUED,
            trigger=trigger,
            selection=select,
            exclude=exclude,
            partitions=partitions,
            config=json.loads(json.dumps(config, default=str)),
            project=self.config.name,
            teal_version=__version__,
            created_at=utc_now(),  # the wall clock (retention and listings go by it)
        )

    def evaluate_python_sensor(self, definition: SensorDef, now: datetime) -> list[TickOutcome]:
        """Call a ``@teal.sensor`` function (runtime/sensors.py)."""
        from teal.runtime import sensors

        if not self._due(definition.name, definition.minimum_interval, now):
            return []
        return sensors.python_sensor(self, definition, now)

    def _due(self, name: str, interval: float, now: datetime) -> bool:
        """Whether sensor ``name`` is evaluated now (its minimum interval has passed since
        the last time); the time is noted. An interval of a minute or more is kept in the
        run store too, so that ``teal daemon --once`` from cron keeps it across processes."""
        kept = interval >= 60
        source = f"evaluated:sensor:{name}"
        previous = self._sensor_at.get(name)
        if previous is None and kept:
            stored = self.ticks.cursor(source)
            previous = datetime.fromisoformat(stored) if stored else None
        # a process started by cron a little early still finds the interval passed
        slack = min(5.0, interval / 20) if kept else 0.0
        if previous is not None and (now - previous).total_seconds() < interval - slack:
            return False
        self._sensor_at[name] = now
        if kept:
            self.ticks.set_cursor(source, now.isoformat(), now)
        return True

    # -- sensors ------------------------------------------------------------------------------
    def tick_time(self, source: str, now: datetime) -> datetime:
        """The time a sensor's tick evaluated at ``now`` is recorded at: ``now``, or just
        after the source's last recorded tick when that is not earlier (a clock fixed by
        ``TEAL_NOW``, or set back). A tick's time is its key: a tick at a time already
        recorded is dropped while its cursor moves on, which would lose the file or the
        materialization it was for."""
        last = self.ticks.last_tick(source)
        return now if last is None or last < now else last + timedelta(microseconds=1)

    def evaluate_sensor(self, sensor: Sensor, now: datetime) -> list[TickOutcome]:
        """Evaluate one sensor when its minimum interval has passed (runtime/sensors.py)."""
        from teal.runtime import sensors

        if not self._due(sensor.name, sensor.minimum_interval, now):
            return []
        evaluate = {
            "files": sensors.files_changed,
            "asset": sensors.asset_materialized,
            "run_status": sensors.run_ended,
        }[sensor.kind]
        return evaluate(self, sensor, now)


def settle_exited(store: RunStore, run_id: str, code: int) -> None:
    """The ``teal launch`` process of ``run_id`` ended (and was reaped, so its pid is gone):
    a run it never claimed failed (it could not even start), and one it left started or
    canceling crashed (killed), as the next teal command to open the store would find."""
    from teal.runtime.runstore.liveness import mark_crashed_here

    run = store.run(run_id)
    if run is None or run.status.finished:
        return
    if run.status == RunStatus.QUEUED:
        store.set_status(
            run_id,
            RunStatus.FAILURE,
            at=utc_now(),
            message=f"the launched process exited with code {code} before starting "
            f"(see .teal/logs/{run_id}.log)",
        )
    else:
        mark_crashed_here(store)


def open_daemon(
    project_dir: str | Path | None,
    *,
    launcher: Launcher | None = None,
    on_tick: Callable[[TickOutcome], None] | None = None,
) -> Daemon:
    """A daemon for the project at ``project_dir``, its run store opened and migrated."""
    from teal.runtime.clock import utc_now

    config = load_config(project_dir)
    store = open_run_store(store_spec(config.run_store), config.root, project=config.name)
    store.migrate(utc_now())
    daemon = Daemon(
        config=config,
        store=store,
        launcher=launcher
        or SubprocessLauncher(config.root, retention=config.run_retention, store=store),
        on_tick=on_tick,
    )
    daemon.partition_for = partition_finder(config, daemon.loads.session)
    daemon.freshness = freshness_evaluator(config)
    from teal.runtime.automation_conditions import Conditions

    daemon.conditions = Conditions()
    adopt_state(daemon, utc_now())
    return daemon


def _naive(value: datetime) -> datetime:
    """Naive UTC, as the run store keeps times."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
