"""dbt sources as a dbt user writes them: Jinja in a source's schema and identifier (vars
of dbt_project.yml, target), rendered as dbt renders them, and mistakes located."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import query, run_teal
from tests.test_dbt_front_end import PROJECT, dbt_project

ENV = {"TEAL_RUN_STORE": "none"}
SOURCES = """
version: 2
sources:
  - name: raw
    schema: "{{ target.schema }}_{{ var('raw_suffix') }}"
    tables:
      - name: people
        identifier: "{{ var('people_table') }}"
"""


@pytest.mark.slow
def test_a_source_identifier_reads_the_project_vars(tmp_path: Path) -> None:
    project = PROJECT.replace(
        "  cutoff: 2\n", "  cutoff: 2\n  raw_suffix: raw\n  people_table: people\n"
    )
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/sources.yml": SOURCES,
            "models/from_source.sql": "select count(*) as n from {{ source('raw', 'people') }}\n",
        },
        project=project,
    )
    # a source is no edge to the seed it names (as in dbt): the seed is loaded first
    assert run_teal("seed", env=ENV, cwd=root).returncode == 0
    done = run_teal("run", env=ENV, cwd=root)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select n from main.from_source") == [(3,)]
    # --vars wins over the project's vars, as for var() in a model
    done = run_teal(
        "compile", "--vars", "{people_table: other}", "-s", "from_source", cwd=root, env=ENV
    )
    assert done.returncode == 0, done.output
    # dbt's layout: under the project's name
    compiled = (root / "target" / "compiled" / "shop" / "models" / "from_source.sql").read_text()
    assert '"main_raw"."other"' in compiled


def test_a_source_var_that_is_not_defined_is_located(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/sources.yml": SOURCES,
            "models/from_source.sql": "select count(*) as n from {{ source('raw', 'people') }}\n",
        },
    )
    done = run_teal("compile", cwd=root, env=ENV)
    assert done.returncode == 2, done.output
    assert (
        "models/staging/sources.yml:4:5: cannot render schema of source 'raw': "
        "var('raw_suffix') is not defined" in done.output
    ), done.output
    assert "sources.yml:7:9: cannot render identifier of source 'raw'" in done.output
    assert "Traceback" not in done.output


def test_a_dbt_duckdb_external_location_is_a_located_error(tmp_path: Path) -> None:
    """dbt-duckdb reads such a source from its file; teal read files.events instead and the
    build failed on a missing table (or read another table of that name)."""
    from teal.compiler.errors import TealError
    from teal.compiler.project import load_project

    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/files.yml": """
                version: 2
                sources:
                  - name: files
                    meta:
                      external_location: "read_parquet('data/{name}.parquet')"
                    tables:
                      - name: events
                      - name: clicks
                  - name: lake
                    tables:
                      - name: orders
                        config:
                          plugin: excel
                """,
            "models/staging/stg_events.sql": "select * from {{ source('files', 'events') }}\n",
            "models/staging/stg_clicks.sql": "select * from {{ source('files', 'clicks') }}\n",
            "models/staging/stg_orders.sql": "select * from {{ source('lake', 'orders') }}\n",
        },
    )
    with pytest.raises(TealError) as raised:
        load_project(root, vars={"cutoff": 2})
    said = str(raised.value)
    assert (
        "models/staging/files.yml:5:7: source 'files' sets external_location (dbt-duckdb), "
        "which teal does not support: teal would read tables of schema files instead" in said
    ), said
    assert said.count("sets external_location") == 1, said  # once for its two tables
    assert "models/staging/files.yml:13:11: source 'lake' sets plugin (dbt-duckdb)" in said
