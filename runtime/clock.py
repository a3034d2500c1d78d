"""Run identifiers and the wall clock runs are recorded with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC, without a time zone (how the state tables store times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    """A unique run id that names its start: ``20261203T091500-1a2b3c4d5e6f``. It sorts by
    time only to the second (two runs of one second sort by their random suffix); the run
    store orders runs by ``created_at``, kept to the microsecond. The suffix has 48 random
    bits: 10,000 runs queued in one second (a sensor's run per file) would almost surely
    share an id with 24 bits; with 48 the chance is about 1 in 5 million."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:12]}"
