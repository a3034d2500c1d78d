"""A partitioned model's status in the UI follows its checks as the build does
(docs/checks.md, "A failed check blocks later runs too"): `/api/statuses` shows it failed
while a failed check stands, and no longer once every partition passed that check again."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal
from tests.test_partition_check_failures import copy_fixture, tighten
from tests.ui.test_ui_api import call, ui_server


@pytest.mark.slow
def test_a_failed_check_stops_showing_once_every_partition_passed_it(tmp_path, monkeypatch):
    from teal.runtime.ui import project_view

    monkeypatch.setattr(project_view, "CHANGE_CHECK_S", 0.0)  # every request looks
    root = copy_fixture(tmp_path)
    assert run_teal("build", cwd=root).returncode == 0
    schema = (root / "models" / "schema.yml").read_text()
    with ui_server(root) as (url, _):
        assert call(url, "statuses")["statuses"]["daily"] == "fresh"
        tighten(root, "[DE]")
        assert run_teal("check", cwd=root).returncode == 1
        assert call(url, "statuses")["statuses"]["daily"] == "failed"

        (root / "models" / "schema.yml").write_text(schema)
        some = ("--partition-range", "2025-01-01..2025-01-02")
        assert run_teal("build", "-s", "daily", *some, cwd=root).returncode == 0
        assert call(url, "statuses")["statuses"]["daily"] == "failed"  # one not checked

        every = ("--partition-range", "2025-01-01..2025-01-03")
        assert run_teal("build", "-s", "daily", *every, cwd=root).returncode == 0
        assert call(url, "statuses")["statuses"]["daily"] == "fresh"
        assert run_teal("build", cwd=root).returncode == 0  # by_country is no longer blocked
        assert call(url, "statuses")["statuses"] == {"daily": "fresh", "by_country": "fresh"}
