"""dbt snapshot configs of dbt 1.9: ``dbt_valid_to_current`` stamps current versions (as
dbt does, instead of null) and ``snapshot_meta_column_names`` is a located error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from teal.compiler.column_lineage import column_graph
from teal.compiler.project import load_project
from tests.conftest import query, run_teal
from tests.test_dbt_front_end import dbt_project

ENV = {"TEAL_RUN_STORE": "none"}
SNAPSHOT = """
{% snapshot people_snap %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated', target_schema='snaps',
          dbt_valid_to_current="'9999-12-31'::timestamp"SETTING) }}
select id, name, timestamp 'STAMP' as updated from {{ ref('people') }}
{% endsnapshot %}
"""


@pytest.mark.slow
def test_dbt_valid_to_current_stamps_the_current_versions(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "snapshots/people_snap.sql": SNAPSHOT.replace("STAMP", "2024-01-01").replace(
                "SETTING", ""
            )
        },
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    # progress lines name a seed and a snapshot as dbt does (they said table and increm)
    assert re.search(r"OK +seed +main_raw\.people ", done.output), done.output
    assert re.search(r"OK +snapshot +snaps\.people_snap ", done.output), done.output
    (root / "snapshots" / "people_snap.sql").write_text(
        SNAPSHOT.replace("STAMP", "2024-02-01").replace("SETTING", "")
    )
    for _ in range(2):  # the second run finds nothing changed
        done = run_teal("snapshot", cwd=root, env=ENV)
        assert done.returncode == 0, done.output
    rows = query(
        root / "shop.duckdb",
        "select id, strftime(dbt_valid_from, '%Y-%m'), strftime(dbt_valid_to, '%Y-%m') "
        "from snaps.people_snap where id = 1 order by dbt_valid_from",
    )
    assert rows == [(1, "2024-01", "2024-02"), (1, "2024-02", "9999-12")]


def test_snapshot_meta_column_names_is_a_located_error(tmp_path: Path) -> None:
    setting = ", snapshot_meta_column_names={'dbt_valid_from': 'valid_from'}"
    root = dbt_project(
        tmp_path / "p",
        {
            "snapshots/people_snap.sql": SNAPSHOT.replace("STAMP", "2024-01-01").replace(
                "SETTING", setting
            )
        },
    )
    done = run_teal("compile", cwd=root, env=ENV)
    assert done.returncode == 2, done.output
    assert "snapshots/people_snap.sql:3:11: snapshot_meta_column_names is not supported" in (
        done.output
    ), done.output


CONFIG = (
    "{{ config(target_schema='snaps', unique_key='idd', strategy='check', check_cols=['name']) }}"
)
QUERY = "select id, name from {{ ref('people') }}\n"


@pytest.mark.parametrize(
    "file, line, written",
    [
        ("{% snapshot people_snap %}\n" + CONFIG + "\n" + QUERY, 2, CONFIG),
        # on the tag's line: the snapshot's body starts in the middle of it
        (
            "{% snapshot people_snap %}" + CONFIG + "\n" + QUERY,
            1,
            "{% snapshot people_snap %}" + CONFIG,
        ),
    ],
    ids=["own-line", "tag-line"],
)
def test_a_unique_key_the_snapshots_query_lacks_is_located_at_the_setting(
    tmp_path: Path, file: str, line: int, written: str
) -> None:
    """It was found in the SQL teal wraps the query in: at 1:1, a blank line, and named
    after that SQL's CTE (snapshot_query)."""
    files = {"snapshots/people_snap.sql": file + "{% endsnapshot %}\n"}
    project = load_project(dbt_project(tmp_path / "p", files))
    (err,) = column_graph(project).errors()
    col = written.index("unique_key") + 1
    assert str(err).splitlines() == [
        f"snapshots/people_snap.sql:{line}:{col}: unique_key 'idd' of snapshot people_snap "
        "is not a column of the snapshot's query, which has: id, name",
        f"    {written}",
        "    " + " " * (col - 1) + "^",
        "  hint: did you mean 'id'?",
    ]


@pytest.mark.slow
def test_full_refresh_keeps_a_snapshots_history(tmp_path: Path) -> None:
    """As dbt's snapshot materialization, which never asks should_full_refresh():
    `build --full-refresh` rebuilt the snapshot from scratch, losing its closed versions."""
    root = dbt_project(
        tmp_path / "p",
        {
            "snapshots/people_snap.sql": SNAPSHOT.replace("STAMP", "2024-01-01").replace(
                "SETTING", ""
            )
        },
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    (root / "snapshots" / "people_snap.sql").write_text(
        SNAPSHOT.replace("STAMP", "2024-02-01").replace("SETTING", "")
    )
    done = run_teal("build", "--full-refresh", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    rows = query(
        root / "shop.duckdb",
        "select strftime(dbt_valid_from, '%Y-%m') from snaps.people_snap where id = 1 "
        "order by dbt_valid_from",
    )
    assert rows == [("2024-01",), ("2024-02",)]
