"""A line of ``teal logs`` says what the build said: a failed or warning check with how many
rows failed (``email_has_at_sign warn (54 failing rows)``), not only its status."""

from __future__ import annotations

from datetime import datetime

from teal.cli_runs import format_event
from teal.runtime.runstore import Event, EventKind

AT = datetime(2026, 3, 2, 3, 0, 1)


def _check(status: str, failing: int) -> Event:
    data = {"check": "email_has_at_sign", "status": status, "failing_rows": failing}
    return Event("r1", 1, AT, EventKind.CHECK_RESULT, "stg_customers", data=data)  # type: ignore[arg-type]


def test_a_check_line_says_how_many_rows_failed():
    assert format_event(_check("warn", 54)).endswith("email_has_at_sign warn (54 failing rows)")
    assert format_event(_check("fail", 1)).endswith("email_has_at_sign fail (1 failing row)")
    assert format_event(_check("pass", 0)).endswith("email_has_at_sign pass")
