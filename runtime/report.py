"""Console output for builds: a line per finished model, then a summary.

Works the same on a terminal and in a pipe (CI logs, tests), like dbt's run log.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any, Protocol

from teal.compiler.plan import Plan, Step
from teal.runtime.results import ERROR, SKIPPED, SUCCESS, BuildResult, ModelResult


class Reporter(Protocol):
    def start(self, plan: Plan, threads: int, warehouse: str) -> None: ...
    def model_started(self, step: Step) -> None: ...
    def model_finished(self, result: ModelResult, done: int, total: int) -> None: ...
    def finish(self, result: BuildResult) -> None: ...


class SilentReporter:
    def start(self, plan: Plan, threads: int, warehouse: str) -> None:
        pass

    def model_started(self, step: Step) -> None:
        pass

    def model_finished(self, result: ModelResult, done: int, total: int) -> None:
        pass

    def finish(self, result: BuildResult) -> None:
        pass


_LABEL = {SUCCESS: "OK", ERROR: "ERROR", SKIPPED: "SKIP"}
_COLOR = {SUCCESS: "32", ERROR: "31", SKIPPED: "33"}
# how a materialization is shown in a progress line (six characters at most)
_SHOWN = {"external": "files"}


def fmt_rows(rows: int | None) -> str:
    return "" if rows is None else f"{rows:,} rows"


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.2f}s" if seconds < 60 else f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


class ConsoleReporter:
    """Prints progress lines like ``[ 3/14] OK    table  marts.daily_revenue  1,234 rows  0.12s``."""

    def __init__(self, out: IO[str] | None = None, color: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.color = color if color is not None else self.out.isatty()
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._width = 30
        self._total = 0

    def _c(self, status: str, text: str) -> str:
        return f"\033[{_COLOR[status]}m{text}\033[0m" if self.color else text

    def write(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def start(self, plan: Plan, threads: int, warehouse: str) -> None:
        self._t0 = time.perf_counter()
        self._total = len(plan.steps)
        self._width = max([len(s.relation) for s in plan.steps] + [20])
        noun = "model" if self._total == 1 else "models"
        self.write(
            f"Building {self._total} {noun} with {threads} thread"
            f"{'s' if threads != 1 else ''} into {warehouse}"
        )

    def attempt_failed(self, step: Step, failed: ModelResult, allowed: int, pause: float) -> None:
        first = (failed.message or "").splitlines()[0] if failed.message else ""
        self.write(
            f"        {step.model} failed on attempt {step.attempt} of {allowed}, retrying in "
            f"{pause:.1f} s: {first}"
        )

    def model_started(self, step: Step) -> None:
        if step.partitions and len(step.partitions) > 1:
            self.write(f"        {step.relation}: {len(step.partitions)} partitions to build")

    def partition_finished(
        self,
        step: Step,
        key: str,
        status: str,
        rows: int | None,
        done: int,
        total: int,
        seconds: float | None,
        message: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """One line per partition: ``[  3/365] OK    2026-01-03  1,234 rows  0.02s``."""
        digits = len(str(total))
        label = self._c(status, f"{_LABEL[status]:<5}")
        tail = fmt_rows(rows) if rows is not None else ""
        if seconds is not None:
            tail += f"  {fmt_seconds(seconds)}"
        if message:
            tail += f"  {message.splitlines()[0]}"
        self.write(
            f"        {step.model} [{done:>{digits}}/{total}] {label} {key}  {tail}".rstrip()
        )

    def model_finished(self, result: ModelResult, done: int, total: int) -> None:
        digits = len(str(total))
        label = self._c(result.status, f"{_LABEL[result.status]:<5}")
        kind = _SHOWN.get(result.materialization or "", result.materialization or "")[:6]
        head = f"[{done:>{digits}}/{total}] {label} {kind:<6} {result.relation or result.model:<{self._width}}"
        if result.status == SUCCESS:
            self.write(
                f"{head}  {fmt_rows(result.rows):>14}  {fmt_seconds(result.duration_s)}"
                f"{check_counts(result.checks)}"
            )
        elif result.status == ERROR:
            first = (result.message or "").splitlines()[0] if result.message else ""
            self.write(f"{head}  {fmt_seconds(result.duration_s)}  {first}")
        else:
            self.write(f"{head}  {result.message or ''}")
        for outcome in result.checks:
            if outcome.status != "pass":
                self.write("        " + check_line(outcome, self._c))

    def finish(self, result: BuildResult) -> None:
        self.write(summary(result))


_CHECK_COLOR = {"pass": SUCCESS, "warn": SKIPPED, "fail": ERROR, "error": ERROR}


def check_counts(checks: Any) -> str:
    """``  checks: 5 pass, 1 warn`` (empty without checks)."""
    if not checks:
        return ""
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    order = ("pass", "warn", "fail", "error")
    return "  checks: " + ", ".join(f"{counts[k]} {k}" for k in order if k in counts)


def check_line(outcome: Any, color: Any = None) -> str:
    """``WARN  not_null_orders_email  12 failing rows  (partition 2025-01-05)``."""
    label = outcome.status.upper()
    if color is not None:
        label = color(_CHECK_COLOR[outcome.status], f"{label:<5}")
    else:
        label = f"{label:<5}"
    parts = [f"{label} check {outcome.check}"]
    if outcome.failing is not None:
        parts.append(f"{outcome.failing:,} failing rows")
    if outcome.partition:
        parts.append(f"(partition {outcome.partition})")
    if outcome.message:
        parts.append(outcome.message)
    return "  ".join(parts).rstrip()


def summary(result: BuildResult) -> str:
    """The end-of-build summary: counts, then a table of every failure and skip."""
    built, failed, skipped = result.built, result.failed, result.skipped
    published = [r for r in failed if r.published]
    rows = sum(r.rows or 0 for r in built + published)
    live = f" ({len(published)} published, then failed a check)" if published else ""
    lines = [
        "",
        f"Finished in {fmt_seconds(result.duration_s)}: {len(built)} built, {len(failed)} failed"
        f"{live}, {len(skipped)} skipped ({rows:,} rows written)",
    ]
    if failed:
        lines.append("")
        lines.append("Failures:")
        for r in failed:
            message = r.message or ""
            lines.append(f"  {r.location}: {message.splitlines()[0] if message else ''}")
            for extra in message.splitlines()[1:]:
                lines.append(f"    {extra}")
    flagged = [c for c in result.check_outcomes if c.status != "pass"]
    total_checks = len(result.check_outcomes)
    if total_checks:
        lines.append("")
        lines.append(
            f"Checks: {total_checks} run, {total_checks - len(flagged)} passed"
            + (":" if flagged else "")
        )
        for outcome in flagged:
            lines.append("  " + check_line(outcome) + f"  [{outcome.asset}]")
            if outcome.sample:
                lines.append(f"      e.g. {outcome.sample[0]}")
    if skipped:
        lines.append("")
        lines.append("Skipped:")
        width = max(len(r.model) for r in skipped)
        for r in skipped:
            lines.append(f"  {r.model:<{width}}  {r.message or ''}")
    return "\n".join(lines)


def results_table(result: BuildResult) -> str:
    """Every model's status, rows and time as an aligned table."""
    header = ("model", "status", "materialized", "rows", "time")
    rows = [
        (
            r.model,
            r.status,
            r.materialization or "",
            fmt_rows(r.rows).replace(" rows", ""),
            fmt_seconds(r.duration_s) if r.status != SKIPPED else "",
        )
        for r in result.results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        out.append(
            "  ".join(
                str(v).ljust(w) if i != 3 else str(v).rjust(w)
                for i, (v, w) in enumerate(zip(row, widths))
            )
        )
    return "\n".join(out)
