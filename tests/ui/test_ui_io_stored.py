"""The UI judges an asset a custom I/O manager stores by teal's record of its save, as
`teal plan --changed-only` does (docs/external.md, "What teal knows of a store"): fresh
after its build, not stale for want of a relation in the warehouse; its preview says that
the manager keeps its rows rather than that it was never built."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal
from tests.test_io_stored_state import built_fixture
from tests.ui.test_ui_api import call, ui_server


@pytest.mark.slow
def test_a_stored_asset_shows_fresh_after_its_build(tmp_path, monkeypatch):
    from teal.runtime.ui import project_view

    monkeypatch.setattr(project_view, "CHANGE_CHECK_S", 0.0)  # every request looks
    root = built_fixture(tmp_path)
    with ui_server(root) as (url, _):
        assert call(url, "statuses")["statuses"] == {
            "stored": "fresh",
            "reader": "fresh",
            "by_region": "fresh",
            "region_count": "fresh",
        }
        page = call(url, "assets/stored")
        assert page["status"] == "fresh" and page["last_result"] == "success"
        assert call(url, "assets/stored/preview") == {
            "available": False,
            "message": "stored is kept by its I/O manager 'files', which offers no view in "
            "the warehouse to preview",
        }

        source = root / "models" / "a.py"
        source.write_text(source.read_text().replace('"x": [1, 2]', '"x": [1, 2, 3]'))
        statuses = call(url, "statuses")["statuses"]
        assert (statuses["stored"], statuses["reader"], statuses["by_region"]) == (
            "stale",
            "stale",
            "fresh",
        )
        assert run_teal("build", "--changed-only", cwd=root).returncode == 0
        assert set(call(url, "statuses")["statuses"].values()) == {"fresh"}
