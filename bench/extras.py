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
        for store in ("sqlite", "postgres"):
            got = size.get(store)
            if not got:
                continue
            share = 100 * float(got["blocked_share"])
            n = size["models"]
            rows.append(
                Row(
                    f"{n:,} models, {store}: build waits on the store",
                    share,
                    "%",
                    "<= 3 %",
                    share <= 3.0,
                )
            )
            rows.append(
                Row(
                    f"{n:,} models, {store}: bytes per run",
                    float(got["bytes_per_run"]),
                    "bytes",
                    "",
                    None,
                )
            )
    return rows


def daemon(repeat: int, small: bool = False) -> list[Row]:
    """The daemon: a landed file to a started run (tick -> run started <= 1 s, issue 17),
    idle cost, and memory over 10,000 ticks."""
    tiny = ["--idle", "2", "--ticks", "200"] if small else []
    found = _run("daemon", ["--repeat", str(repeat), *tiny])
    latency = found["latency"]["file_to_run_started_s"]["median"]
    ticks = found["many_ticks"]
    return [
        Row("landed file -> run started", latency, "s", "<= 1 s", latency <= 1.0),
        Row(
            "idle, 100 schedules + 20 sensors: CPU per minute",
            found["idle"]["cpu_s_per_minute"],
            "s",
            "",
            None,
        ),
        Row(f"{ticks['ticks']:,} ticks: ms per tick", ticks["ms_per_tick"], "ms", "", None),
        Row(
            f"{ticks['ticks']:,} ticks: memory growth",
            ticks["rss_mb_end"] - ticks["rss_mb_start"],
            "MB",
            "flat",
            None,
        ),
    ]


def ui(repeat: int, small: bool = False) -> list[Row]:
    """The UI with 5,000 assets in Chromium: graph interactive (<= 2 s, issue 18)."""
    tiny = ["--models", "60", "--rounds", "20"] if small else ["--rounds", "300"]
    found = _run("ui", ["--repeat", str(repeat), *tiny])
    interactive = found["graph_interactive_s"]
    growth = found["rss_mb_after_all_rounds"] - found["rss_mb_after_10_rounds"]
    return [
        Row(
            f"{found['models']:,} assets: graph interactive",
            interactive,
            "s",
            "<= 2 s",
            interactive <= 2.0,
        ),
        Row("/api/graph", found["api_graph_s"], "s", "", None),
        Row(
            f"server memory growth over {found['rounds']} request rounds",
            growth,
            "MB",
            "flat",
            None,
        ),
    ]


def partition_scale(repeat: int, small: bool = False) -> list[Row]:
    """2,000 daily-partitioned models (plan <= 1 s warm, ``teal partitions`` <= 0.3 s) and a
    5,000-partition backfill (0 lock errors, flat memory), issue 22."""
    tiny = ["--models", "20", "--backfill", "60"] if small else []
    found = _run("partition_scale", ["--repeat", str(repeat), *tiny])
    many, backfill = found["many"], found["backfill"]
    n = many["models"]
    plan_all = many["plan_all"]["median_s"]
    shown = many["partitions"]["median_s"]
    locks = backfill["lock_lines"]
    growth = backfill["rss_last_fifth_mb"] - backfill["rss_first_fifth_mb"]
    return [
        Row(
            f"{n:,} partitioned models: teal plan (all partitions)",
            plan_all,
            "s",
            "<= 1 s",
            plan_all <= 1.0,
        ),
        Row(
            f"{n:,} partitioned models: teal plan -s <one>",
            many["plan_one"]["median_s"],
            "s",
            "",
            None,
        ),
        Row(
            f"{n:,} partitioned models: teal partitions show <one>",
            shown,
            "s",
            "<= 0.3 s",
            shown <= 0.3,
        ),
        Row(
            f"{backfill['partitions']:,}-partition backfill: lock errors",
            float(locks),
            "",
            "0",
            locks == 0,
        ),
        Row(
            f"{backfill['partitions']:,}-partition backfill: memory, last fifth - first",
            growth,
            "MB",
            "flat",
            None,
        ),
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
