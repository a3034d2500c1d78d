"""Exposures (compiler/exposures.py): ``+exposure:NAME`` selects the models an exposure
depends on and what they read, in dbt projects and teal projects alike; its mistakes are
located warnings (a ref to no model, an unknown key) and its selection errors say what to
write instead."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import run_teal
from tests.test_dbt_front_end import dbt_project

DBT_EXPOSURES = """
version: 2
exposures:
  - name: people_dashboard
    type: dashboard
    owner:
      name: Ana
    depends_on:
      - ref('people_count')
      - source('raw', 'events')
  - name: seeds_report
    type: analysis
    depends_on:
      - ref('people')
      - ref('peeple_count')
"""


def listed(done) -> list[str]:
    assert done.returncode == 0, done.output
    return sorted(m["name"] for m in json.loads(done.stdout))


@pytest.mark.slow
def test_plus_exposure_selects_what_it_depends_on_in_a_dbt_project(tmp_path):
    root = dbt_project(tmp_path / "p", {"models/exposures.yml": DBT_EXPOSURES})
    env = {"TEAL_RUN_STORE": "none"}
    everything = run_teal("ls", "-s", "+exposure:people_dashboard", "--json", cwd=root, env=env)
    assert listed(everything) == ["people", "people_count", "stg_people"]
    one_up = run_teal("ls", "-s", "1+exposure:people_dashboard", "--json", cwd=root, env=env)
    assert listed(one_up) == ["people_count"]
    assert (
        "models/exposures.yml:14:7: exposure 'seeds_report' depends on ref('peeple_count'), "
        "which is not a model (ignored)" in everything.stderr
    )
    assert "did you mean 'people_count'?" in everything.stderr
    built = run_teal("build", "-s", "+exposure:people_dashboard", cwd=root, env=env)
    assert built.returncode == 0, built.output
    assert "3 built" in built.stdout

    alone = run_teal("build", "-s", "exposure:people_dashboard", cwd=root, env=env)
    assert alone.returncode == 2
    assert "exposure:people_dashboard selects nothing teal builds" in alone.stderr
    assert "hint: +exposure:people_dashboard selects the models it depends on" in alone.stderr
    typo = run_teal("ls", "-s", "+exposure:people_dashbord", cwd=root, env=env)
    assert typo.returncode == 2
    assert "no exposure named 'people_dashbord'" in typo.stderr
    assert "did you mean 'people_dashboard'?" in typo.stderr


def test_a_teal_project_declares_exposures_with_bare_names(project):
    root = project(
        {
            "models/a.sql": "select 1 as x",
            "models/b.sql": "select x + 1 as y from a",
            "models/c.sql": "select 2 as z",
            "models/exposures.yml": textwrap.dedent(
                """\
                exposures:
                  - name: app
                    type: application
                    depends_on: [b]
                    urll: https://example.com
                """
            ),
        }
    )
    done = run_teal("ls", "-s", "+exposure:app", "--json", cwd=root)
    assert listed(done) == ["a", "b"]
    assert "models/exposures.yml:5:5: unknown key 'urll' for exposure 'app' (ignored)" in (
        done.stderr
    )
    assert "did you mean 'url'?" in done.stderr
    with_glob = run_teal("ls", "-s", "+exposure:a* c", "--json", cwd=root)
    assert listed(with_glob) == ["a", "b", "c"]


def test_a_dbt_projects_exposures_are_in_its_manifest(tmp_path):
    root = dbt_project(tmp_path / "p", {"models/exposures.yml": DBT_EXPOSURES})
    done = run_teal("parse", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    exposure = manifest["exposures"]["exposure.shop.people_dashboard"]
    assert exposure["type"] == "dashboard" and exposure["owner"]["name"] == "Ana"
    assert exposure["depends_on"]["nodes"] == ["model.shop.people_count"]
    assert exposure["sources"] == [["raw", "events"]]  # not a declared source: not a node
    assert "exposure.shop.people_dashboard" in manifest["child_map"]["model.shop.people_count"]
