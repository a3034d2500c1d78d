"""dbt features beyond the basics (issue 19, third part): microbatch models, model versions,
pre/post hooks and the rest, on small dbt projects written here. What real dbt makes of the
same features is compared in tests/test_dbt_projects.py (fixture tests/dbt_projects/events).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import query, run_teal
from tests.test_dbt_front_end import _error, dbt_project

ENV = {"TEAL_RUN_STORE": "none"}
MICROBATCH = """
{{ config(materialized='incremental', incremental_strategy='microbatch',
          event_time='joined', batch_size='month', begin='2024-01-01') }}
select id, cast(joined as timestamp) as joined from {{ ref('people') }} where joined is not null
"""


@pytest.mark.parametrize(
    ("written", "broken", "message"),
    [
        (
            "batch_size='month'",
            "batch_size='mont'",
            "batch_size='mont' of microbatch model 'mb' is not hour, day",
        ),
        (", begin='2024-01-01'", "", "microbatch model 'mb' has no begin"),
        ("event_time='joined',", "", "microbatch model 'mb' has no event_time"),
        ("begin='2024-01-01'", "begin='2024-01-01', unique_key='id'", "sets unique_key"),
    ],
)
def test_a_microbatch_config_mistake_is_located(
    tmp_path: Path, written: str, broken: str, message: str
) -> None:
    text = _error(
        dbt_project(tmp_path / "p", {"models/mb.sql": MICROBATCH.replace(written, broken)})
    )
    assert text.startswith("models/mb.sql:"), text
    assert message in text


@pytest.mark.slow
def test_microbatch_builds_one_partition_per_batch_and_reads_batches_of_event_time_refs(
    tmp_path: Path,
) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/stg_people.sql": "{{ config(event_time='joined') }}\n"
            "select id, name, joined from {{ ref('people') }}\n",
            "models/mb.sql": MICROBATCH.replace("ref('people')", "ref('stg_people')"),
        },
    )
    done = run_teal("build", "-s", "+mb", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select id from main.mb order by id") == [(1,), (3,)]
    assert run_teal("compile", "-s", "mb", cwd=root, env=ENV).returncode == 0
    compiled = (root / "target" / "compiled" / "shop" / "models" / "mb.sql").read_text()
    assert 'where "joined" >= __teal_partition_start__' in compiled
    # one batch by the dbt flags: only March is rebuilt
    plan = run_teal(
        "plan",
        "-s",
        "mb",
        "--event-time-start",
        "2024-03-01",
        "--event-time-end",
        "2024-04-01",
        cwd=root,
        env=ENV,
    )
    assert plan.returncode == 0, plan.output
    assert "partitions 2024-03" in plan.output
    alone = run_teal("build", "--event-time-start", "2024-03-01", cwd=root, env=ENV)
    assert alone.returncode == 2
    assert "--event-time-start needs --event-time-end too" in alone.output


VERSIONS = """
models:
  - name: stg_people
    latest_version: 2
    columns:
      - name: id
        data_tests: [unique]
    versions:
      - v: 1
      - v: 2
      - v: 3
"""


def test_model_versions_are_models_of_their_own_and_ref_picks_one(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/schema.yml": VERSIONS,
            "models/staging/stg_people_v1.sql": "select id from {{ ref('people') }}\n",
            "models/marts/both.sql": "select * from {{ ref('stg_people') }}\n"
            "union all select id, null, null from {{ ref('stg_people', v=1) }}\n",
        },
    )
    from teal.compiler.project import load_project

    project = load_project(root)
    # v2 lives in stg_people.sql (the latest may); v3 has no file: a located warning
    assert project.models["stg_people_v2"].relation == "main.stg_people_v2"
    assert project.models["both"].upstreams == ("stg_people_v1", "stg_people_v2")
    (warning,) = [w for w in project.warnings if "version 3" in str(w)]
    assert str(warning).startswith("models/staging/schema.yml:10:9: version 3 of model")
    assert sorted(c for c in project.checks if c.startswith("unique")) == [
        "unique_stg_people_v1_id",
        "unique_stg_people_v2_id",
    ]
    assert project.dbt_nodes["stg_people_v1"]["unique_id"] == "model.shop.stg_people.v1"
    (root / "models/marts/both.sql").write_text("select * from {{ ref('stg_people', v=4) }}\n")
    text = _error(root)
    assert text.startswith("models/marts/both.sql:1:")
    assert "model 'stg_people' has no version 4 with a file" in text
    # dbt's selection by a versioned model's name selects every version
    (root / "models/marts/both.sql").write_text("select 1 as x\n")
    done = run_teal("ls", "-s", "stg_people", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert "stg_people_v1" in done.output and "stg_people_v2" in done.output


@pytest.mark.slow
def test_hooks_run_around_the_model_and_a_failing_one_is_named(tmp_path: Path) -> None:
    model = """
    {{ config(materialized='table',
              pre_hook="create table if not exists {{ target.schema }}.log (what varchar)",
              post_hook=["insert into {{ target.schema }}.log select 'rows ' || count(*) from {{ this }}",
                         "{{ var('bad_post', 'select 1') }}"]) }}
    select * from {{ ref('people') }}
    """
    root = dbt_project(tmp_path / "p", {"models/marts/hooked.sql": model})
    done = run_teal("build", "-s", "+hooked", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select what from main.log") == [("rows 3",)]
    failed = run_teal(
        "build", "-s", "hooked", "--vars", "{bad_post: 'select * from nowhere'}", cwd=root, env=ENV
    )
    assert failed.returncode == 1
    assert "published, then post-hook 2 failed: Catalog Error" in failed.output
    assert query(root / "shop.duckdb", "select count(*) from main.log") == [(2,)]


@pytest.mark.slow
def test_on_run_end_hooks_see_the_runs_schemas_and_results(tmp_path: Path) -> None:
    from tests.test_dbt_front_end import PROJECT

    project = (
        PROJECT
        + """
on-run-start:
  - "create table if not exists main.audit_log (v varchar)"
on-run-end:
  - "{% for s in schemas %}insert into main.audit_log values ('schema {{ s }}');{% endfor %}"
  - "insert into main.audit_log select 'results: {{ results | length }}'"
  - "{{ log_results() }}"
  - "{% for d, s in database_schemas %}insert into main.audit_log values ('{{ d }}.{{ s }}');{% endfor %}"
"""
    )
    macro = """
    {% macro log_results() %}
      {% for r in results if r.node.resource_type == 'model' %}
        insert into main.audit_log values ('{{ r.node.name }} {{ r.status }} {{ r.node.schema }}');
      {% endfor %}
      {% set n = run_query('select count(*) from main.audit_log').columns[0].values()[0] %}
      insert into main.audit_log values ('rows so far {{ n }}');
    {% endmacro %}
    """
    root = dbt_project(tmp_path / "p", {"macros/audit.sql": macro}, project=project)
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    rows = [r[0] for r in query(root / "shop.duckdb", "select v from main.audit_log")]
    assert rows == [
        "schema main",
        "schema main_mart",
        "schema main_raw",
        "results: 3",
        "stg_people success main",
        "people_count success main_mart",
        "rows so far 4",  # the hooks before it ran first
        "shop.main",
        "shop.main_mart",
        "shop.main_raw",
    ], rows


ARROW_MODEL = """
import pyarrow as pa
import pyarrow.compute as pc


def model(dbt, session):
    people = dbt.ref("stg_people").arrow()
    if hasattr(people, "read_all"):  # a stream in newer DuckDB
        people = people.read_all()
    return pa.table({"id": people["id"], "doubled": pc.multiply(people["id"], 2)})
"""


@pytest.mark.slow
def test_a_python_model_returning_arrow_builds_and_sql_models_read_it(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "models/marts/doubled.py": ARROW_MODEL,
            "models/marts/reads_python.sql": "select sum(doubled) as s from {{ ref('doubled') }}\n",
        },
    )
    done = run_teal("build", "-s", "+reads_python", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select s from main_mart.reads_python") == [(6,)]
    listed = run_teal("ls", "-s", "+doubled", cwd=root, env=ENV)
    assert "stg_people" in listed.output  # the lineage read from dbt.ref in the file


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def build(dbt, session):\n    return None\n", "defines no model(dbt, session) function"),
        (
            "def model(dbt, session):\n    name = 'people'\n    return dbt.ref(name)\n",
            "models/marts/py.py:3:12: dbt.ref() in Python model 'py' takes literal arguments",
        ),
        (
            "def model(dbt, session):\n    dbt.config(materialized='view')\n    return 1\n",
            "is materialized='view', which teal does not build for Python models",
        ),
        ("def model(dbt, session)\n", "models/marts/py.py:1:24: Python model 'py' does not parse"),
    ],
)
def test_python_model_mistakes_are_located(tmp_path: Path, source: str, message: str) -> None:
    text = _error(dbt_project(tmp_path / "p", {"models/marts/py.py": source}))
    assert message in text


@pytest.mark.slow
def test_a_python_model_that_raises_fails_at_its_line(tmp_path: Path) -> None:
    source = "def model(dbt, session):\n    x = dbt.ref('people')\n    raise ValueError('no')\n"
    root = dbt_project(tmp_path / "p", {"models/marts/py.py": source})
    done = run_teal("build", "-s", "+py", cwd=root, env=ENV)
    assert done.returncode == 1
    assert "models/marts/py.py:3: ValueError: no" in done.output


ATTACH_PROFILES = """
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: shop.duckdb
      schema: main
      attach:
        - path: lake/old.duckdb
          read_only: true
"""


@pytest.mark.slow
def test_a_profile_attach_is_readable_as_a_source(tmp_path: Path) -> None:
    import duckdb

    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/sources.yml": "sources:\n  - name: old_orders\n    database: old\n"
            "    schema: sales\n    tables:\n      - name: orders\n",
            "models/marts/old_total.sql": "select sum(amount) as total "
            "from {{ source('old_orders', 'orders') }}\n",
        },
        profiles=ATTACH_PROFILES,
    )
    (root / "lake").mkdir()
    with duckdb.connect(str(root / "lake" / "old.duckdb")) as con:
        con.execute("create schema sales; create table sales.orders as select 2.5 as amount")
    done = run_teal("build", "-s", "old_total", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select total from main_mart.old_total") == [(2.5,)]
    # teal docs generate lists the source table, with its columns, in catalog.json
    assert run_teal("docs", "generate", cwd=root, env=ENV).returncode == 0
    import json

    catalog = json.loads((root / "target" / "catalog.json").read_text())
    table = catalog["sources"]["source.shop.old_orders.orders"]
    assert table["metadata"]["database"] == "old" and table["metadata"]["schema"] == "sales"
    assert [c["name"] for c in table["columns"].values()] == ["amount"]
    # another kind of database is refused where it is written
    (root / "profiles.yml").write_text(ATTACH_PROFILES.replace("read_only: true", "type: sqlite"))
    text = _error(root)
    assert "profiles.yml:10: " in text
    assert "attach: type 'sqlite' is not supported by teal" in text


def test_a_unit_test_fixture_that_does_not_exist_is_located(tmp_path: Path) -> None:
    yml = """
    unit_tests:
      - name: t
        model: stg_people
        given:
          - input: ref('people')
            format: csv
            fixture: peple
        expect:
          rows: []
    """
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/unit.yml": yml,
            "tests/fixtures/people.csv": "id,name,joined\n1,Ann,\n",
            "tests/fixtures/not_a_test.sql": "select 1 as id\n",  # rows, not a singular test
        },
    )
    text = _error(root)
    assert text.startswith("models/staging/unit.yml:")
    assert "fixture 'peple' (csv) is not a file in tests/fixtures/" in text
    assert "did you mean 'people'?" in text
    (root / "models/staging/unit.yml").write_text(
        (root / "models/staging/unit.yml").read_text().replace("peple", "people")
    )
    from teal.compiler.project import load_project

    project = load_project(root)
    assert "stg_people::t" in project.checks
    assert not any("not_a_test" in c for c in project.checks)


@pytest.mark.slow
def test_state_modified_sees_a_changed_macro_through_the_macros_that_call_it(
    tmp_path: Path,
) -> None:
    macros = """
    {% macro shout(x) %}upper({{ inner(x) }}){% endmacro %}
    {% macro inner(x) %}{{ x }}{% endmacro %}
    """
    root = dbt_project(
        tmp_path / "p",
        {
            "macros/text.sql": macros,
            "models/staging/stg_people.sql": "select id, {{ shout('name') }} as name, joined "
            "from {{ ref('people') }}\n",
        },
    )
    assert run_teal("parse", cwd=root, env=ENV).returncode == 0
    manifest = (root / "target" / "manifest.json").read_text()
    assert '"macro.shop.shout"' in manifest and '"macro.shop.inner"' in manifest
    (root / "target").rename(tmp_path / "prod")
    state = ("--state", str(tmp_path / "prod"))
    done = run_teal("ls", "-s", "state:modified", *state, cwd=root, env=ENV)
    assert "0 of" in done.output, done.output
    (root / "macros/text.sql").write_text(macros.replace("{{ x }}", "trim({{ x }})"))
    done = run_teal("ls", "-s", "state:modified", *state, cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert "stg_people" in done.output and "1 of" in done.output


def test_column_lineage_goes_through_an_ephemeral_model_dbt_inlines(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "models/stg_orders.sql": "select id, score * 100 as cents from {{ ref('people') }}\n",
            "models/int_big.sql": "{{ config(materialized='ephemeral') }}\n"
            "select * from {{ ref('stg_orders') }} where cents > 100\n",
            "models/summary.sql": "select count(*) as n, sum(cents) as total from {{ ref('int_big') }}\n",
        },
    )
    from teal.compiler.column_lineage import column_graph
    from teal.compiler.column_view import ColumnRef, column_tree
    from teal.compiler.project import load_project

    graph = column_graph(load_project(root))
    tree = column_tree(graph, ColumnRef("summary", "total")).splitlines()
    assert tree[:3] == [
        "upstream (what it is made of):",
        "  summary.total",
        "  └── stg_orders.cents (aggregate)",
    ]
    assert graph.resolution().resolved == graph.resolution().total


def test_column_lineage_names_a_dbt_source_by_its_source_name(tmp_path: Path) -> None:
    """dbt's source() renders the table's relation ("main_raw"."customers" here, its schema
    templated); lineage names the source table, not an unresolved table."""
    root = dbt_project(
        tmp_path / "p",
        {
            "models/sources.yml": """
            sources:
              - name: crm
                schema: "{{ target.schema }}_raw"
                tables:
                  - name: customers
            """,
            "models/stg_customers.sql": "select id, upper(name) as name "
            "from {{ source('crm', 'customers') }}\n",
        },
    )
    from teal.compiler.column_lineage import column_graph
    from teal.compiler.column_view import ColumnRef, column_tree
    from teal.compiler.project import load_project

    graph = column_graph(load_project(root))
    tree = column_tree(graph, ColumnRef("stg_customers", "name")).splitlines()
    assert tree[:3] == [
        "upstream (what it is made of):",
        "  stg_customers.name",
        "  └── crm.customers.name (transform)",
    ]


@pytest.mark.slow
def test_the_manifest_holds_descriptions_and_columns_with_doc_blocks_rendered(
    tmp_path: Path,
) -> None:
    from dbt_artifacts_parser.parser import parse_manifest

    yaml = """
    version: 2
    sources:
      - name: raw
        description: the loader's tables
        schema: main
        tables:
          - name: events
            description: '{{ doc("events") }}'
            meta: {owner: ops}
            columns:
              - name: id
                description: event id
                data_type: bigint
    models:
      - name: stg_people
        description: '{{ doc("people") }}'
        columns:
          - name: id
            description: '{{ doc("person_id") }}'
            data_type: integer
            meta: {pii: false}
            tags: [key]
            data_tests: [not_null]
          - name: name
    seeds:
      - name: people
        description: the people seed
        columns:
          - name: score
            config: {meta: {unit: points}, tags: [numbers]}
    """
    docs = (
        "{% docs people %}\nOne row per person.\n{% enddocs %}\n"
        "{% docs person_id %}The person's id.{% enddocs %}\n"
        "{% docs events %}Every event.{% enddocs %}\n"
    )
    root = dbt_project(tmp_path / "p", {"models/staging/schema.yml": yaml, "models/docs.md": docs})
    done = run_teal("docs", "generate", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    parse_manifest(manifest)  # dbt's schema accepts it
    model = manifest["nodes"]["model.shop.stg_people"]
    assert model["description"] == "One row per person."
    assert model["patch_path"] == "shop://models/staging/schema.yml"
    assert model["columns"]["id"] == {
        "name": "id",
        "description": "The person's id.",
        "meta": {"pii": False},
        "data_type": "integer",
        "constraints": [],
        "quote": None,
        "tags": ["key"],
    }
    assert model["columns"]["name"]["description"] == ""
    assert model["columns"]["name"]["data_type"] is None
    seed = manifest["nodes"]["seed.shop.people"]
    assert seed["description"] == "the people seed"
    assert seed["columns"]["score"]["meta"] == {"unit": "points"}
    assert seed["columns"]["score"]["tags"] == ["numbers"]
    assert manifest["nodes"]["model.shop.people_count"]["columns"] == {}
    source = manifest["sources"]["source.shop.raw.events"]
    assert source["description"] == "Every event."
    assert source["source_description"] == "the loader's tables"
    assert source["meta"] == {"owner": "ops"}
    assert source["columns"]["id"]["data_type"] == "bigint"
    # a doc() that names no docs block is located at the column's YAML entry
    (root / "models/staging/schema.yml").write_text(
        textwrap.dedent(yaml).replace('doc("person_id")', 'doc("person_ids")')
    )
    failed = run_teal("parse", cwd=root, env=ENV)
    assert failed.returncode == 2, failed.output
    assert "models/staging/schema.yml:" in failed.output
    assert "doc('person_ids') names no docs block" in failed.output
    assert "did you mean 'person_id'?" in failed.output
    assert "Traceback" not in failed.output


@pytest.mark.slow
def test_a_relationships_test_skips_when_the_model_it_reads_fails_not_its_model(
    tmp_path: Path,
) -> None:
    """As dbt: stg_orders does not ref stg_customers, so it builds (and what reads it)
    when stg_customers fails; only its relationships test, which reads stg_customers,
    is skipped, and says why."""
    yaml = """
    version: 2
    models:
      - name: stg_orders
        columns:
          - name: person_id
            data_tests:
              - not_null
              - relationships: {to: ref('stg_customers'), field: id}
    """
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/stg_customers.sql": "{{ config(materialized='table') }}\n"
            "select id, cast(name as int) as n "
            "from {{ ref('people') }}\n",
            "models/staging/stg_orders.sql": "select 10 + id as id, id as person_id "
            "from {{ ref('people') }}\n",
            "models/marts/order_count.sql": "select count(*) as n from {{ ref('stg_orders') }}\n",
            "models/staging/schema.yml": yaml,
        },
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 1, done.output
    assert "ERROR table  main.stg_customers" in done.output
    assert "OK    view   main.stg_orders" in done.output
    assert "OK    table  main_mart.order_count" in done.output
    assert (
        "SKIP  check relationships_stg_orders_person_id__id__ref_stg_customers_  "
        "skipped: stg_customers failed" in done.output
    )
    assert "Checks: 1 run, 1 passed, 1 skipped:" in done.output
    assert query(root / "shop.duckdb", "select n from main_mart.order_count") == [(3,)]
    results = {
        r["unique_id"].split(".")[2]: (r["status"], r["message"])
        for r in json.loads((root / "target" / "run_results.json").read_text())["results"]
    }
    assert results["relationships_stg_orders_person_id__id__ref_stg_customers_"] == (
        "skipped",
        "skipped: stg_customers failed",
    )
    assert results["not_null_stg_orders_person_id"] == ("pass", None)
    assert results["stg_orders"] == ("success", "OK")
    # once stg_customers builds, the check runs (and fails: people 1..3 are not ids 11..13)
    (root / "models/staging/stg_customers.sql").write_text(
        "select id + 10 as id from {{ ref('people') }} where id < 3\n"
    )
    again = run_teal("build", cwd=root, env=ENV)
    assert again.returncode == 1, again.output
    assert "check relationships_stg_orders_person_id__id__ref_stg_customers_ failed" in (
        again.output
    )


@pytest.mark.slow
def test_the_check_counts_say_a_failed_test_failed_beside_one_it_skipped(tmp_path: Path) -> None:
    """stg_customers fails its accepted_values test, so the relationships test of
    stg_orders, which reads stg_customers, is skipped: the summary's counts add up to the
    lines under it, the failed test counted as failed (it read "2 run, 1 passed, 1
    skipped", as though the failed test was the skipped one)."""
    yaml = """
    version: 2
    models:
      - name: stg_customers
        columns:
          - name: name
            data_tests:
              - accepted_values: {values: [Ann, Cy]}
      - name: stg_orders
        columns:
          - name: person_id
            data_tests:
              - not_null
              - relationships: {to: ref('stg_customers'), field: id}
    """
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/stg_customers.sql": "{{ config(materialized='table') }}\n"
            "select id, name from {{ ref('people') }}\n",
            "models/staging/stg_orders.sql": "select 10 + id as id, id as person_id "
            "from {{ ref('people') }}\n",
            "models/staging/schema.yml": yaml,
        },
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 1, done.output
    checks = done.stdout.split("\nChecks: ")[1].splitlines()
    assert checks[0] == "2 run, 1 passed, 1 failed, 1 skipped:", done.stdout
    assert checks[1].startswith("  FAIL  check accepted_values_stg_customers_name__Ann__Cy ")
    assert checks[3].startswith(
        "  SKIP  check relationships_stg_orders_person_id__id__ref_stg_customers_  "
        "skipped: stg_customers failed"
    )


@pytest.mark.slow
def test_selection_takes_dbt_fqns_and_tests_by_name_and_type(tmp_path: Path) -> None:
    yaml = """
    version: 2
    models:
      - name: stg_people
        columns:
          - name: id
            data_tests: [not_null, unique]
    """
    root = dbt_project(
        tmp_path / "p",
        {
            "models/staging/schema.yml": yaml,
            "tests/assert_people_counted.sql": "select * from {{ ref('people_count') }} "
            "where n < 1\n",
        },
    )
    assert run_teal("build", cwd=root, env=ENV).returncode == 0

    def listed(selection: str) -> list[str]:
        done = run_teal("ls", "-s", selection, "-o", "name", cwd=root, env=ENV)
        assert done.returncode == 0, done.output
        return sorted(done.stdout.split())

    assert listed("shop") == ["people", "people_count", "stg_people"]
    assert listed("shop.staging") == ["stg_people"]
    assert listed("staging.stg_people") == ["stg_people"]
    assert listed("fqn:shop.marts.people_count") == ["people_count"]

    def tested(selection: str, *more: str) -> list[str]:
        done = run_teal("test", "-s", selection, *more, cwd=root, env=ENV)
        assert done.returncode == 0, done.output
        results = json.loads((root / "target" / "run_results.json").read_text())["results"]
        return sorted(r["unique_id"].split(".")[2] for r in results)

    assert tested("not_null_stg_people_id") == ["not_null_stg_people_id"]
    assert tested("test_name:unique_stg_people_id") == ["unique_stg_people_id"]
    assert tested("test_name:not_null") == ["not_null_stg_people_id"]  # dbt's: the test kind
    assert tested("test_type:singular") == ["assert_people_counted"]
    assert tested("test_type:generic") == ["not_null_stg_people_id", "unique_stg_people_id"]
    assert tested("stg_people") == ["not_null_stg_people_id", "unique_stg_people_id"]
    # excluding a test leaves out that test, not the model it checks
    assert tested("stg_people", "--exclude", "test_name:not_null") == ["unique_stg_people_id"]
    assert tested("resource_type:test") == [
        "assert_people_counted",
        "not_null_stg_people_id",
        "unique_stg_people_id",
    ]
    wrong = run_teal("test", "-s", "resource_type:modle", cwd=root, env=ENV)
    assert wrong.returncode == 2, wrong.output
    assert "unknown resource type 'modle'" in wrong.output
    assert "did you mean 'model'?" in wrong.output
