"""compiler/source_versions.py on a loaded project, without building: which source tables
are versioned (local, unpartitioned files) and what changes a version."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from teal.compiler.project import load_project
from teal.compiler.source_versions import SourceVersions
from tests.conftest import write_project

SOURCES = """
sources:
  - name: ref
    type: csv
    path: ../data/{table}.csv
    tables: [scales]
  - name: lake
    type: parquet
    path: s3://bucket/{table}.parquet
    tables: [clicks]
  - name: wh
    tables: [orders]
"""


def test_only_local_file_sources_are_versioned_and_an_edit_changes_the_version(tmp_path):
    root = write_project(
        tmp_path / "p",
        {
            "models/sources.yml": SOURCES,
            "models/a.sql": "select * from ref.scales, lake.clicks, wh.orders",
        },
        'name = "p"\n',
    )
    (root / "data").mkdir()
    path = root / "data" / "scales.csv"
    path.write_text("factor\n1\n")
    project = load_project(root)
    versions = SourceVersions(project)
    assert versions.files("lake.clicks") is None and versions.files("wh.orders") is None
    assert versions.files("ref.scales") == (
        ("data/scales.csv", 9, path.stat().st_mtime_ns),  # named relative to the project
    )
    before = versions.parts("a")
    assert [p.split("=")[0] for p in before] == ["ref.scales"]

    later = path.stat().st_mtime_ns + 2_000_000_000
    os.utime(path, ns=(later, later))  # written again, same bytes
    versions = SourceVersions(project)  # a plan lists the files once: a new one sees it
    assert versions.parts("a") != before
    modified = datetime.fromtimestamp(later / 1e9, UTC)
    # an aware time is compared as UTC, as a naive one
    assert versions.changed_after("a", modified - timedelta(seconds=1)) == "ref.scales"
    assert versions.changed_after("a", (modified + timedelta(seconds=1)).astimezone()) is None
    assert versions.changed_after("a", None) is None
