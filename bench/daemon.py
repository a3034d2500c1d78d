"""The daemon: how fast a tick becomes a started run, what it costs while idle, and whether
its memory stays flat over many ticks.

- **Tick -> run started.** A real ``teal daemon`` watches a landing folder (a file sensor);
  a file is written and the time until the run store shows the run started is measured
  (the daemon steps every half second, then launches ``teal launch RUN``). Compared with a
  plain ``teal build`` of the same one-model selection started by hand, the floor of any
  launch.
- **Idle.** A daemon with 100 schedules and 20 sensors (nothing due, nothing landing) for
  a while: CPU seconds per minute and resident memory, from /proc.
- **10,000 ticks.** In process, on a simulated clock: a schedule due every minute stepped
  through 10,000 minutes, each tick queuing a run that a launcher finishes at once;
  resident memory before and after, and the time per tick.
- **Evaluations of a large project.** In process, on a simulated clock: a built project of
  ``--models`` models, every tenth with a freshness config and every tenth with an
  ``eager`` automation condition, stepped every 10 s through ``--minutes`` minutes (the
  conditions every 30 s, freshness every 60 s); the project's loads (calls of
  ``load_project``, counted the same way on any teal), the time the steps took, and
  resident memory.

Run: python bench/daemon.py [--repeat 5] [--idle 30] [--ticks 10000] [--models 1000]
     [--minutes 10] [--parts latency,idle,many_ticks,evaluations] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "{{ config(materialized='table') }} select 1 as x"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def project(root: Path, toml: str) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "m.sql").write_text(MODEL)
    (root / "landing").mkdir()
    (root / "teal.toml").write_text(toml)
    return root


def start_daemon(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", "daemon"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None and "teal daemon for" in proc.stdout.readline()
    return proc


def started_runs(root: Path) -> int:
    from teal.runtime.runstore import RunStatus, open_run_store

    with open_run_store(None, root) as store:
        return sum(
            r.status in (RunStatus.STARTED, RunStatus.SUCCESS) for r in store.runs(limit=1000)
        )


def latency(work: Path, repeat: int) -> dict[str, object]:
    root = project(
        work / "latency",
        '[sensors.landing]\nfiles = "landing/*.csv"\nselect = "m"\nminimum_interval = "0.1s"\n',
    )
    subprocess.run(
        [sys.executable, "-m", "teal.cli", "build"], cwd=root, check=True, capture_output=True
    )
    seen = started_runs(root)
    daemon = start_daemon(root)
    waits = []
    try:
        for i in range(repeat):
            t0 = time.perf_counter()
            (root / "landing" / f"file{i}.csv").write_text("x\n")
            while started_runs(root) <= seen:
                time.sleep(0.005)
            waits.append(time.perf_counter() - t0)
            seen += 1
            while started_runs(root) and _running(root):
                time.sleep(0.01)  # let the run end before the next file lands
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    by_hand = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "teal.cli", "build", "-s", "m"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        by_hand.append(time.perf_counter() - t0)
    return {
        "file_to_run_started_s": {
            "min": min(waits),
            "median": statistics.median(waits),
            "max": max(waits),
        },
        "build_by_hand_s": statistics.median(by_hand),
    }


def _running(root: Path) -> bool:
    from teal.runtime.runstore import RunStatus, open_run_store

    with open_run_store(None, root) as store:
        return bool(store.runs(status=[RunStatus.STARTED, RunStatus.QUEUED], limit=1))


def idle(work: Path, seconds: float) -> dict[str, object]:
    lines = []
    for i in range(100):
        lines.append(f'[schedules.s{i}]\nselect = "m"\ncron = "{i % 60} {i % 24} 1 1 *"\n')
    for i in range(20):
        lines.append(f'[sensors.f{i}]\nfiles = "landing/f{i}/*.csv"\nselect = "m"\n')
    root = project(work / "idle", "\n".join(lines))
    daemon = start_daemon(root)
    try:
        time.sleep(2)  # past start-up
        cpu0, t0 = cpu_s(daemon.pid), time.perf_counter()
        time.sleep(seconds)
        cpu1, t1 = cpu_s(daemon.pid), time.perf_counter()
        rss = rss_kb(daemon.pid)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    return {
        "schedules": 100,
        "sensors": 20,
        "cpu_s_per_minute": round((cpu1 - cpu0) / (t1 - t0) * 60, 3),
        "rss_mb": round(rss / 1024, 1),
    }


@dataclass
class Finished:
    run_id: str

    def poll(self) -> int:
        return 0


@dataclass
class FinishAtOnce:
    """Claims and finishes each run as it is launched (the run's work is not measured)."""

    store: object

    def launch(self, run_id: str) -> Finished:
        from teal.runtime.runstore import RunStatus
        from teal.runtime.runstore.ticks import TickStore

        TickStore(self.store).claim(
            run_id,
            host="bench",
            pid=os.getpid(),  # type: ignore[arg-type]
            at=datetime(2026, 1, 1),
        )
        self.store.set_status(run_id, RunStatus.SUCCESS, at=datetime(2026, 1, 1))  # type: ignore[attr-defined]
        return Finished(run_id)


def many_ticks(work: Path, n: int) -> dict[str, object]:
    from teal.compiler.config import load_config
    from teal.runtime.daemon import Daemon
    from teal.runtime.runstore import open_run_store

    root = project(work / "ticks", '[schedules.every]\nselect = "m"\ncron = "* * * * *"\n')
    store = open_run_store(None, root)
    store.migrate(datetime(2026, 1, 1))
    daemon = Daemon(load_config(root), store, FinishAtOnce(store))
    now = datetime(2026, 1, 1)
    daemon.step(now)
    before = rss_kb(os.getpid())
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        daemon.step(now + timedelta(minutes=i, seconds=1))
        if i == n // 10:
            early = rss_kb(os.getpid())
    seconds = time.perf_counter() - t0
    after = rss_kb(os.getpid())
    store.close()
    return {
        "ticks": n,
        "ms_per_tick": round(seconds / n * 1000, 3),
        "rss_mb_start": round(before / 1024, 1),
        "rss_mb_after_10pct": round(early / 1024, 1),
        "rss_mb_end": round(after / 1024, 1),
    }


def evaluations(work: Path, models: int, minutes: int) -> dict[str, object]:
    """The automation conditions and freshness of a built ``models``-model project, stepped
    every 10 s of a simulated clock for ``minutes``."""
    import teal.runtime.session as session_module
    from teal.runtime.daemon import open_daemon

    root = work / "evaluations"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "evaluations"\n[daemon]\nautomation_interval = "30s"\n')
    for i in range(models):
        config = ["materialized='table'"]
        if i % 10 == 0:
            config.append("freshness={'max_lag': '1d'}")
        if i % 10 == 5:
            config.append("automation_condition='eager'")
        body = (
            "select range as n from range(10)"
            if i == 0
            else f"select n + 1 as n from m{i // 2:05d}"
        )
        (root / "models" / f"m{i:05d}.sql").write_text(
            f"{{{{ config({', '.join(config)}) }}}}\n{body}\n"
        )
    subprocess.run(
        [sys.executable, "-m", "teal.cli", "build"], cwd=root, check=True, capture_output=True
    )
    calls = 0
    original = session_module.load_project

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    session_module.load_project = counted  # type: ignore[assignment]
    try:
        launcher = FinishAtOnce(None)
        daemon = open_daemon(root, launcher=launcher)
        launcher.store = daemon.store  # the store the daemon opened
        now = datetime(2026, 1, 1)
        before = rss_kb(os.getpid())
        t0, cpu0 = time.perf_counter(), time.process_time()
        steps = minutes * 6
        for i in range(steps):
            daemon.step(now + timedelta(seconds=10 * i))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        after = rss_kb(os.getpid())
        daemon.store.close()
    finally:
        session_module.load_project = original  # type: ignore[assignment]
    return {
        "models": models,
        "steps": steps,
        "automation_evaluations": minutes * 2,
        "freshness_evaluations": minutes,
        "project_loads": calls,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # this process's: the machine may be shared
        "ms_per_minute_of_daemon": round(seconds / minutes * 1000, 1),
        "rss_mb_start": round(before / 1024, 1),
        "rss_mb_end": round(after / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--ticks", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--parts", default="latency,idle,many_ticks,evaluations")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results: dict[str, object] = {"date": date.today().isoformat()}
        if "latency" in parts:
            results["latency"] = latency(work, args.repeat)
        if "idle" in parts:
            results["idle"] = idle(work, args.idle)
        if "many_ticks" in parts:
            results["many_ticks"] = many_ticks(work, args.ticks)
        if "evaluations" in parts:
            results["evaluations"] = evaluations(work, args.models, args.minutes)
    print(json.dumps(results, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"daemon-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
