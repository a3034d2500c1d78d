"""The console reporter's lines for a partitioned step, fed the executor's callbacks
directly (no warehouse): what a user reads while a long backfill runs."""

from __future__ import annotations

import io
import re

from teal.compiler.plan import Step
from teal.runtime.report import ConsoleReporter
from teal.runtime.results import ERROR, SUCCESS, ModelResult

KEYS = tuple(f"2025-01-{d:02d}" for d in range(1, 7))
STEP = Step(
    "events", "incremental", "main.events", (), "missing", "h", "models/events.sql", partitions=KEYS
)


def feed(reporter: ConsoleReporter, failing: set[str]) -> None:
    reporter.model_started(STEP)
    for i, key in enumerate(KEYS, 1):
        status = ERROR if key in failing else SUCCESS
        message = "Conversion Error: no such day" if key in failing else None
        reporter.partition_finished(STEP, key, status, 2, i, len(KEYS), 0.01, message)
    reporter.model_finished(
        ModelResult(
            "events",
            ERROR if failing else SUCCESS,
            "main.events",
            "incremental",
            rows=None if failing else 12,
            duration_s=0.5,
            message="partition 2025-01-02: Conversion Error: no such day" if failing else None,
        ),
        1,
        1,
    )


def test_a_slow_step_says_how_far_it_got_and_a_fast_one_prints_one_line() -> None:
    out = io.StringIO()
    feed(ConsoleReporter(out, color=False, progress_every=0.0), set())
    lines = out.getvalue().splitlines()
    for done, line in enumerate(lines[:-1], 1):  # every partition but the last, then the model
        assert re.fullmatch(rf"        main\.events: {done} of 6 partitions so far, \S+s", line)
    assert len(lines) == 6  # one per partition but the last, then the model's line
    assert lines[-1].endswith("  12 rows  0.50s  6 partitions")

    out = io.StringIO()
    feed(ConsoleReporter(out, color=False), set())
    assert len(out.getvalue().splitlines()) == 1


def test_partitions_failing_outside_checks_are_named_on_one_line() -> None:
    out = io.StringIO()
    feed(
        ConsoleReporter(out, color=False), {"2025-01-02", "2025-01-04", "2025-01-05", "2025-01-06"}
    )
    model, failed = out.getvalue().splitlines()
    assert "  4 of 6 partitions failed  partition 2025-01-02: Conversion Error" in model
    assert failed == (
        "        ERROR on 4 of 6 partitions: 2025-01-02, 2025-01-04, 2025-01-05 and 1 more  "
        "Conversion Error: no such day"
    )


def test_verbose_prints_a_line_per_partition() -> None:
    out = io.StringIO()
    feed(ConsoleReporter(out, color=False, verbose=True), set())
    lines = out.getvalue().splitlines()
    assert lines[0] == "        main.events: 6 partitions to build"
    assert lines[1] == "        events [1/6] OK    2025-01-01  2 rows  0.01s"
    assert len(lines) == 1 + 6 + 1


def test_one_failing_partition_is_named_once() -> None:
    out = io.StringIO()
    reporter = ConsoleReporter(out, color=False)
    step = Step(
        "events",
        "incremental",
        "main.events",
        (),
        "missing",
        "h",
        "models/events.sql",
        partitions=("2025-01-02",),
    )
    reporter.model_started(step)
    reporter.partition_finished(step, "2025-01-02", ERROR, 0, 1, 1, 0.01, "ValueError: bad day")
    reporter.model_finished(
        ModelResult(
            "events",
            ERROR,
            "main.events",
            "incremental",
            duration_s=0.5,
            message="partition 2025-01-02: ValueError: bad day",
        ),
        1,
        1,
    )
    [model, *_] = out.getvalue().splitlines()
    assert model.count("2025-01-02") == 1, model
    assert "partition 2025-01-02: ValueError: bad day" in model


def test_the_summary_counts_one_row_in_the_singular() -> None:
    from teal.runtime.report import summary
    from teal.runtime.results import BuildResult

    one = ModelResult("a", SUCCESS, "main.a", "table", rows=1)
    assert "(1 row written)" in summary(BuildResult("r", (one,), 0.1, "w.duckdb"))
    two = ModelResult("b", SUCCESS, "main.b", "table", rows=2)
    assert "(3 rows written)" in summary(BuildResult("r", (one, two), 0.1, "w.duckdb"))
