"""Console output for builds: a line per finished model, then a summary.

Works the same on a terminal and in a pipe (CI logs, tests), like dbt's run log. How a
check's results are put in lines is runtime/check_lines.py; a sample row,
runtime/sample_row.py.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from teal.compiler.plan import Plan, Step
from teal.compiler.wording import counted
from teal.runtime.check_lines import (
    check_counts,
    check_summary_line,
    name_partitions,
    run_counts,
    summarize_checks,
)
from teal.runtime.results import ERROR, SKIPPED, SUCCESS, BuildResult, ModelResult
from teal.runtime.sample_row import LINE_WIDTH, SAMPLE_PREFIX

if TYPE_CHECKING:
    from teal.runtime.checking import CheckOutcome


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
# how a materialization is shown in a progress line (a Step's kind says it for dbt's seeds
# and snapshots)
_SHOWN = {"external": "files"}
_KIND_WIDTH = 6  # the least width of the column: wider when a plan's longest kind is


def fmt_rows(rows: int | None) -> str:
    return "" if rows is None else counted(rows, "row")


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.2f}s" if seconds < 60 else f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


# a model building many partitions says how far it got at most this often (seconds), so a
# long backfill shows it is alive; a fast one prints nothing but its finished line
PROGRESS_EVERY_S = 30.0


@dataclass
class _Partitions:
    """What one step's partitions did so far; printed once, on the model's line."""

    started: float
    total: int = 0
    key: str = ""  # the last one reported (a one-partition step is named by it)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, first message line)
    shown_at: float = 0.0  # when a progress line was last printed


class ConsoleReporter:
    """Prints a line per finished model, like
    ``[ 3/14] OK    table  marts.daily_revenue  1,234 rows  0.12s``.

    A partitioned model's partitions are counted on that line (``48 partitions``), its
    checks counted once per check across the partitions, and a check that did not pass
    everywhere gets one line naming its first failing partitions. ``verbose`` adds a
    line per partition as it finishes; ``quiet`` leaves out the opening line, models that
    built (their checks that did not pass and partitions held back are still said) and
    progress lines. Thread-safe:
    workers report partitions while the main thread reports models.
    """

    def __init__(
        self,
        out: IO[str] | None = None,
        color: bool | None = None,
        *,
        verbose: bool = False,
        quiet: bool = False,
        progress_every: float = PROGRESS_EVERY_S,
    ) -> None:
        # no standard output (`teal build 1>&-`, pythonw): the build runs, printing nowhere
        self.out = out or sys.stdout or open(os.devnull, "w")
        self.color = color if color is not None else self.out.isatty()
        self.verbose, self.quiet = verbose and not quiet, quiet
        self._written = False  # anything printed yet (quiet: the summary opens the output)
        self.progress_every = progress_every
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._width = 30
        self._kinds: dict[str, str] = {}  # model -> how its line names what it builds
        self._kind_width = _KIND_WIDTH
        self._total = 0
        self._parts: dict[str, _Partitions] = {}  # model -> its partitions, while it builds
        self._parts_lock = threading.Lock()

    def _c(self, status: str, text: str) -> str:
        return f"\033[{_COLOR[status]}m{text}\033[0m" if self.color else text

    def write(self, text: str) -> None:
        with self._lock:
            self._written = True
            try:
                self.out.write(text + "\n")
                self.out.flush()
            except BrokenPipeError:  # `teal build | head`: the reader left, the build goes on
                self.out = _reader_gone(self.out)

    def start(self, plan: Plan, threads: int, warehouse: str) -> None:
        self._t0 = time.perf_counter()
        self._total = len(plan.steps)
        self._width = max([len(s.relation) for s in plan.steps] + [20])
        self._kinds = {s.model: s.kind or _SHOWN.get(s.action, s.action) for s in plan.steps}
        self._kind_width = max([len(k) for k in self._kinds.values()] + [_KIND_WIDTH])
        idle = len(plan.not_run)  # selected, with nothing to do (up to date, blocked, ...)
        if self.quiet:
            return
        self.write(
            f"Building {counted(self._total, 'model')} with {counted(threads, 'thread')} into "
            f"{warehouse}"
            + (f" ({counted(idle, 'more selected model')}: nothing to do)" if idle else "")
        )
        if plan.deferred:  # --defer-to: what is read from elsewhere, as `teal plan` counts it
            paths = sorted({r.path for r in plan.deferred.values()})
            self.write(
                f"Deferred: {counted(len(plan.deferred), 'model')} read from "
                f"{', '.join(paths)} ({', '.join(sorted(plan.deferred))})"
            )

    def cancel_noticed(self, signum: int | None = None) -> None:
        """The run was canceled (`teal cancel`, or ``signum``: Ctrl-C or SIGTERM): said
        once, from a thread of the cancel's own."""
        from teal.runtime.cancel import signal_said

        said = "Canceling"
        if signum is not None:
            again = signal_said(signum)
            said = f"{'Interrupted' if again == 'Ctrl-C' else again} ({again} again: stop at once)"
        self.write(said + ": the steps in flight are stopped and roll back, no other step starts")

    def attempt_failed(self, step: Step, failed: ModelResult, allowed: int, pause: float) -> None:
        first = (failed.message or "").splitlines()[0] if failed.message else ""
        with self._parts_lock:  # the next attempt counts its partitions afresh
            self._parts.pop(step.model, None)
        self.write(
            f"        {step.model} failed on attempt {step.attempt} of {allowed}, retrying in "
            f"{pause:.1f} s: {first}"
        )

    def model_started(self, step: Step) -> None:
        if step.partitions:
            now = time.perf_counter()
            with self._parts_lock:
                self._parts[step.model] = _Partitions(now, len(step.partitions), shown_at=now)
        if self.verbose and len(step.partitions) > 1:
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
        """Counts the partition; prints it only when verbose (``[  3/365] OK    2026-01-03
        1,234 rows  0.02s``), else a progress line at most every ``progress_every``."""
        now = time.perf_counter()
        first = message.splitlines()[0] if message else ""
        with self._parts_lock:
            parts = self._parts.setdefault(step.model, _Partitions(now, shown_at=now))
            parts.total, parts.key = max(parts.total, total), key
            if status == ERROR:
                parts.failed.append((key, first))
            due = done < total and now - parts.shown_at >= self.progress_every
            if due:
                parts.shown_at = now
            failed, elapsed = len(parts.failed), now - parts.started
        if self.verbose:
            digits = len(str(total))
            label = self._c(status, f"{_LABEL[status]:<5}")
            tail = fmt_rows(rows) if rows is not None else ""
            if seconds is not None:
                tail += f"  {fmt_seconds(seconds)}"
            if first:
                tail += f"  {first}"
            self.write(
                f"        {step.model} [{done:>{digits}}/{total}] {label} {key}  {tail}".rstrip()
            )
        elif due and not self.quiet:
            so_far = f", {failed} failed" if failed else ""
            self.write(
                f"        {step.relation}: {done} of {total} partitions so far{so_far}, "
                f"{fmt_seconds(elapsed)}"
            )

    def model_finished(self, result: ModelResult, done: int, total: int) -> None:
        digits = len(str(total))
        label = self._c(result.status, f"{_LABEL[result.status]:<5}")
        shown = result.materialization or ""
        kind = self._kinds.get(result.model) or _SHOWN.get(shown, shown)
        head = (
            f"[{done:>{digits}}/{total}] {label} {kind:<{self._kind_width}} "
            f"{result.relation or result.model:<{self._width}}"
        )
        with self._parts_lock:
            parts = self._parts.pop(result.model, None)
        counted = partitions_text(result, parts)
        checks = summarize_checks(result.checks)
        if result.status == SUCCESS:
            # quiet: only its checks that did not pass (below), or its partitions held
            # back when an upstream partition failed (a skip the summary does not list)
            if not self.quiet or result.failed_partitions:
                self.write(
                    f"{head}  {fmt_rows(result.rows):>14}  {fmt_seconds(result.duration_s)}"
                    f"{counted}{check_counts(checks)}"
                )
        elif result.status == ERROR:
            first = (result.message or "").splitlines()[0] if result.message else ""
            # its time under the built models' times (no rows column)
            self.write(f"{head}  {'':>14}  {fmt_seconds(result.duration_s)}{counted}  {first}")
        else:
            self.write(f"{head}  {result.message or ''}")
        if parts is not None and len(parts.failed) > 1:
            # partitions that failed for another reason than a check (checks name theirs)
            by_checks = {o.partition for o in result.checks if o.blocks}
            others = [(k, m) for k, m in parts.failed if k not in by_checks]
            if others:
                keys = name_partitions([k for k, _ in others])
                self.write(
                    f"        {self._c(ERROR, 'ERROR')} on {len(others)} of {parts.total} "
                    f"partitions: {keys}  {others[0][1]}".rstrip()
                )
        for check in checks:
            if check.status != "pass":  # quiet: no model line above it, so it names it
                named = f"  [{result.model}]" if self.quiet and result.status == SUCCESS else ""
                self.write("        " + check_summary_line(check, self._c) + named)

    def finish(self, result: BuildResult) -> None:
        text = summary(result)
        self.write(text if self._written else text.lstrip("\n"))


def _reader_gone(out: IO[str]) -> IO[str]:
    """What to write to once ``out``'s reader closed the pipe: its file descriptor (and
    stderr's, when that is the same pipe, as with ``2>&1 | head``) now points at
    /dev/null, so that nothing printed later fails either, and the run ends as it would
    have, its exit code unchanged."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):
        return open(os.devnull, "w")
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        same = [fd]
        for other in (1, 2):
            if other != fd and _same_file(other, fd):
                same.append(other)
        for target in same:
            os.dup2(null, target)
    finally:
        os.close(null)
    return out


def _same_file(a: int, b: int) -> bool:
    try:
        sa, sb = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def partitions_text(result: ModelResult, parts: _Partitions | None) -> str:
    """What a model's line says of its partitions: ``  48 partitions``, ``  partition
    2025-01-02``, ``  3 of 48 partitions failed`` (empty for an unpartitioned model)."""
    if result.status == SUCCESS and result.failed_partitions:  # runtime/held_back.py
        built = parts.total if parts is not None else result.partitions or 0
        return f"  {counted(built, 'partition')} built, {result.message}"
    if parts is None or parts.total == 0:
        many = result.partitions or 0
        return f"  {many} partitions" if many > 1 else ""
    if result.status == ERROR and parts.failed and parts.total > 1:
        return f"  {len(parts.failed)} of {parts.total} partitions failed"
    if parts.total == 1 and parts.key:
        if result.status == ERROR and f"partition {parts.key}" in (result.message or ""):
            return ""  # the error says which partition
        return f"  partition {parts.key}"
    return f"  {parts.total} partitions"


def summary(result: BuildResult) -> str:
    """The end-of-build summary: counts, then a table of every failure and skip."""
    built, failed, skipped = result.built, result.failed, result.skipped
    published = [r for r in failed if r.published]
    live = f" ({len(published)} published, then failed a check)" if published else ""
    lines = [
        "",
        f"Finished in {fmt_seconds(result.duration_s)}: {len(built)} built, {len(failed)} failed"
        f"{live}, {len(skipped)} skipped ({result.written()})",
    ]
    if failed:
        lines.append("")
        lines.append("Failures:")
        for r in failed:
            message = r.message or ""
            lines.append(f"  {r.location}: {message.splitlines()[0] if message else ''}")
            for extra in message.splitlines()[1:]:
                lines.append(f"    {extra}")
    checks = summarize_checks(result.check_outcomes)
    flagged = [c for c in checks if c.status != "pass"]
    if checks:  # each check that ran counted once, by its worst outcome
        lines.append("")
        lines.append(f"Checks: {run_counts(checks)}" + (":" if flagged else ""))
        for check in flagged:
            lines.append("  " + check_summary_line(check) + f"  [{check.first.asset}]")
            sampled = next((o for o in check.flagged if o.sample), None)
            if sampled is not None:
                lines.append(sample_line(sampled, check.per_partition))
    if skipped:
        lines.append("")
        lines.append("Skipped:")
        width = max(len(r.model) for r in skipped)
        for r in skipped:
            lines.append(f"  {r.model:<{width}}  {r.message or ''}")
    return "\n".join(lines)


def sample_line(outcome: CheckOutcome, name_partition: bool = False) -> str:
    """``      e.g. customer_id=124  email=customer124.example.com  ...``: the outcome's
    first sample row (with its partition when ``name_partition``), within ~100 columns."""
    prefix = SAMPLE_PREFIX + (f"in {outcome.partition}: " if name_partition else "")
    return prefix + (outcome.failing_row(width=LINE_WIDTH - len(prefix)) or "")


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
