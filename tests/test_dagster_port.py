"""What a Dagster user porting a code location writes the Dagster way: each is either
taken as Dagster means it or refused with ``path:line:col: message`` and a hint (exit 2),
never taken silently with another meaning."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

CONFIG = 'name = "p"\n'

TAGGED_PY = """
import pyarrow as pa
import teal


@teal.asset(tags={"team": "analytics", "pii": ""})
def users():
    return pa.table({"id": [1]})
"""


@pytest.mark.parametrize("imported", [False, True], ids=["read", "imported"])
def test_dagster_key_value_tags_are_refused_with_the_names_to_write(project, imported):
    # Dagster's tags are a mapping; teal's are names. list() of the mapping kept only its
    # keys (`team`, `pii`): the value `analytics` was lost without a word.
    text = TAGGED_PY + ("print('imported')\n" if imported else "")
    root = project({"models/users.py": text}, config=CONFIG)
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert "Traceback" not in done.output
    assert "models/users.py:5:1: config key 'tags' must be a list of tags" in done.stderr
    assert "hint: tags are names, not key-value pairs: write tags=['team:analytics', 'pii']" in (
        done.stderr
    )


def test_key_value_tags_in_sql_config_get_the_same_hint(project):
    sql = "{{ config(tags={'team': 'analytics'}) }}\nselect 1 as id\n"
    root = project({"models/users.sql": sql}, config=CONFIG)
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/users.sql:1:11: config key 'tags'" in done.stderr
    assert "write tags=['team:analytics']" in done.stderr
