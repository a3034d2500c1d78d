"""The suite's opt-in parts (``bench/run.py --with NAME,...``): the benchmarks of the run
store, the daemon, the UI and partitions at scale, run as their own scripts and read back
from the JSON each writes, so that one command reports every target of issue 22 beside
the value measured.

Each part runs its script as a subprocess with a fresh output folder and turns its JSON
into rows of (label, value, unit, target, met). A part's own README section explains its
method; this module only gathers and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent


class Row(NamedTuple):
    label: str
    value: float
    unit: str  # "s", "%", "MB", "bytes", "ms"
    target: str  # as the issue states it, "" when it states none
    met: bool | None  # None: no target


def at_most(label: str, value: float, unit: str, limit: float) -> Row:
    """A row whose target is ``value <= limit``."""
    return Row(label, value, unit, f"<= {limit:g} {unit}".strip(), value <= limit)


def shown(label: str, value: float, unit: str, target: str = "") -> Row:
    """A row reported without a target to judge (``target``: what the issue says, if any)."""
    return Row(label, value, unit, target, None)


def _run(script: str, args: list[str]) -> dict:
    """Run ``bench/<script>.py`` with ``args`` and an output folder of its own; its JSON."""
    with tempfile.TemporaryDirectory(prefix=f"teal-{script}-") as out:
        cmd = [sys.executable, str(HERE / f"{script}.py"), *args, "--out", out]
        print(f"\n== {script}: {' '.join(cmd[2:])}", flush=True)
        subprocess.run(cmd, check=True)
        written = sorted(Path(out).glob("*.json"))
        if not written:
            raise SystemExit(f"bench/{script}.py wrote no JSON into {out}")
        return json.loads(written[-1].read_text())


def run_store(repeat: int, small: bool = False) -> list[Row]:
    """Recording runs: the share of the build's time its threads wait in store calls
    (target <= 3 %, issue 16), per store and size, and bytes per run."""
    found = _run("run_store", ["--models", "8" if small else "50,1000", "--repeat", str(repeat)])
    rows = []
    for size in found["results"]:
        n = size["models"]
        for store in ("sqlite", "postgres"):
            got = size.get(store)
            if got:
                share = 100 * float(got["blocked_share"])
                rows.append(
                    at_most(f"{n:,} models, {store}: build waits on the store", share, "%", 3)
                )
                rows.append(
                    shown(f"{n:,} models, {store}: bytes per run", got["bytes_per_run"], "bytes")
                )
    return rows


def daemon(repeat: int, small: bool = False) -> list[Row]:
    """The daemon: a landed file to a started run (tick -> run started <= 1 s, issue 17),
    idle cost, and memory over 10,000 ticks."""
    tiny = ["--idle", "2", "--ticks", "200"] if small else []
    parts = ["--parts", "latency,idle,many_ticks"]  # the evaluations: bench/README.md
    found = _run("daemon", ["--repeat", str(repeat), *parts, *tiny])
    ticks = found["many_ticks"]
    n = f"{ticks['ticks']:,} ticks"
    return [
        at_most(
            "landed file -> run started",
            found["latency"]["file_to_run_started_s"]["median"],
            "s",
            1,
        ),
        shown(
            "idle, 100 schedules + 20 sensors: CPU s per minute",
            found["idle"]["cpu_s_per_minute"],
            "s",
        ),
        shown(f"{n}: ms per tick", ticks["ms_per_tick"], "ms"),
        shown(f"{n}: memory growth", ticks["rss_mb_end"] - ticks["rss_mb_start"], "MB", "flat"),
    ]


def ui(repeat: int, small: bool = False) -> list[Row]:
    """The UI with 5,000 assets in Chromium: graph interactive (<= 2 s, issue 18)."""
    tiny = ["--models", "60", "--rounds", "20"] if small else ["--rounds", "300"]
    found = _run("ui", ["--repeat", str(repeat), *tiny])
    growth = found["rss_mb_after_all_rounds"] - found["rss_mb_after_10_rounds"]
    return [
        at_most(
            f"{found['models']:,} assets: graph interactive", found["graph_interactive_s"], "s", 2
        ),
        shown("/api/graph", found["api_graph_s"], "s"),
        shown(f"server memory growth over {found['rounds']} request rounds", growth, "MB", "flat"),
    ]


def partition_scale(repeat: int, small: bool = False) -> list[Row]:
    """2,000 daily-partitioned models (plan <= 1 s warm, ``teal partitions`` <= 0.3 s) and a
    5,000-partition backfill (0 lock errors, flat memory), issue 22."""
    tiny = ["--models", "20", "--backfill", "60"] if small else []
    found = _run("partition_scale", ["--repeat", str(repeat), *tiny])
    many, backfill = found["many"], found["backfill"]
    n, b = (
        f"{many['models']:,} partitioned models",
        f"{backfill['partitions']:,}-partition backfill",
    )
    growth = backfill["rss_last_fifth_mb"] - backfill["rss_first_fifth_mb"]
    return [
        at_most(f"{n}: teal plan (all partitions)", many["plan_all"]["median_s"], "s", 1),
        shown(f"{n}: teal plan -s <one>", many["plan_one"]["median_s"], "s"),
        at_most(f"{n}: teal partitions show <one>", many["partitions"]["median_s"], "s", 0.3),
        at_most(f"{b}: lock errors", float(backfill["lock_lines"]), "", 0),
        shown(f"{b}: memory, last fifth - first", growth, "MB", "flat"),
    ]


PARTS: dict[str, Callable[[int, bool], list[Row]]] = {
    "run_store": run_store,
    "daemon": daemon,
    "ui": ui,
    "partition_scale": partition_scale,
}


def measure(names: list[str], repeat: int, small: bool = False) -> dict[str, list[Row]]:
    """The rows of each part of ``names`` (keys of :data:`PARTS`); ``small``: tiny sizes,
    for the smoke test (tests/test_bench_smoke.py), not for results."""
    return {name: PARTS[name](repeat, small) for name in names}


def table(found: dict[str, list[Row]]) -> str:
    """The rows of every part, with the target and whether it is met."""
    out = [f"{'part':<16} {'measurement':<58} {'value':>12}  {'target':<10} met"]
    out.append("-" * len(out[0]))
    for part, rows in found.items():
        for r in rows:
            value = f"{r.value:,.0f} {r.unit}" if r.unit == "bytes" else f"{r.value:.3f} {r.unit}"
            met = "" if r.met is None else ("yes" if r.met else "NO")
            out.append(f"{part:<16} {r.label:<58} {value:>12}  {r.target:<10} {met}")
    return "\n".join(out)
