"""The selection grammar over a 20-model fixture project (dbt semantics, pointed errors).

The fixture graph (x -> y: y reads x); folders in brackets, tags after '#'::

  [raw]  (table, #raw)    [staging] (#staging)         [intermediate]
  raw_orders ─────────┬─► stg_orders ──────────┐
                      └─► stg_orders_legacy    ├─► int_orders (ephemeral) ─┐
  raw_payments ─────────► stg_payments ───┬────┘                           │
                                          │                                │
  raw_customers ────────► stg_customers ──┼──────► int_customer_orders ◄───┤
  raw_products ─────────► stg_products ─┐ │                │               │
                                        │ │                │               │
  [marts/product]                       │ │  [marts/marketing]             │ [marts/finance]
  dim_products ◄────────────────────────┘ │  dim_customers (#marketing #pii)  fct_revenue (#finance)
                                          └────────────────────────────────► fct_payments
                                              │         │                     (#finance #pii)
  [marts/marketing] fct_campaigns ◄───────────┤         │
  [analytics] segments (python) ◄─────────────┘         │
  [reporting] rpt_daily ◄─── fct_revenue, dim_customers ┘
  [reporting] rpt_exec (table) ◄─── rpt_daily, fct_campaigns
  util_calendar (top level, reads nothing)
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.errors import SelectionError
from teal.compiler.project import load_project
from teal.compiler.selection import METHODS, model_index, parse_criterion, select
from tests.conftest import write_project

CONFIG = """
name = "selection_fixture"

[folders.raw]
materialized = "table"
tags = ["raw"]

[folders.staging]
tags = ["staging"]
"""

FILES = {
    "models/raw/raw_orders.sql": "select 1 as id",
    "models/raw/raw_payments.sql": "select 1 as id",
    "models/raw/raw_customers.sql": "select 1 as id",
    "models/raw/raw_products.sql": "select 1 as id",
    "models/staging/stg_orders.sql": "select * from raw_orders",
    "models/staging/stg_orders_legacy.sql": "select * from raw_orders",
    "models/staging/stg_payments.sql": "select * from raw_payments",
    "models/staging/stg_customers.sql": "select * from raw_customers",
    "models/staging/stg_products.sql": "select * from raw_products",
    "models/intermediate/int_orders.sql": """
        {{ config(materialized='ephemeral') }}
        select * from stg_orders join stg_payments using (id)
    """,
    "models/intermediate/int_customer_orders.sql": "select * from int_orders join stg_customers using (id)",
    "models/marts/finance/fct_revenue.sql": """
        {{ config(tags=['finance']) }}
        select * from int_orders
    """,
    "models/marts/finance/fct_payments.sql": """
        {{ config(tags=['finance', 'pii']) }}
        select * from stg_payments
    """,
    "models/marts/marketing/dim_customers.sql": """
        {{ config(tags=['marketing', 'pii']) }}
        select * from int_customer_orders
    """,
    "models/marts/marketing/fct_campaigns.sql": "select * from dim_customers",
    "models/marts/product/dim_products.sql": "select * from stg_products",
    "models/analytics/segments.py": """
        import teal

        @teal.asset
        def segments(dim_customers):
            return dim_customers
    """,
    "models/reporting/rpt_daily.sql": "select * from fct_revenue join dim_customers using (id)",
    "models/reporting/rpt_exec.sql": """
        {{ config(materialized='table') }}
        select * from rpt_daily join fct_campaigns using (id)
    """,
    "models/util_calendar.sql": "select 1 as day",
}

RAW = {"raw_orders", "raw_payments", "raw_customers", "raw_products"}
STAGING = {"stg_orders", "stg_orders_legacy", "stg_payments", "stg_customers", "stg_products"}
MARTS = {"fct_revenue", "fct_payments", "dim_customers", "fct_campaigns", "dim_products"}
ALL = (
    RAW
    | STAGING
    | MARTS
    | {"int_orders", "int_customer_orders", "segments", "rpt_daily", "rpt_exec", "util_calendar"}
)


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("selection") / "proj", FILES, CONFIG)
    project = load_project(root)
    return project.dag, model_index(project)


def run(fixture_project, select_, exclude=()):
    dag, index = fixture_project
    return select(dag, list(select_), list(exclude), models=index)


def test_fixture_graph_is_the_one_drawn(fixture_project):
    dag, index = fixture_project
    assert set(index) == ALL and len(ALL) == 20
    assert dag.upstreams["int_customer_orders"] == ("int_orders", "stg_customers")
    assert dag.upstreams["rpt_exec"] == ("fct_campaigns", "rpt_daily")
    assert dag.upstreams["segments"] == ("dim_customers",)


CASES = [
    # -- names and graph operators
    ("stg_orders", "", {"stg_orders"}),
    ("+stg_orders", "", {"stg_orders", "raw_orders"}),
    (
        "stg_orders+",
        "",
        {
            "stg_orders",
            "int_orders",
            "int_customer_orders",
            "fct_revenue",
            "dim_customers",
            "fct_campaigns",
            "rpt_daily",
            "rpt_exec",
            "segments",
        },
    ),
    ("1+int_orders", "", {"int_orders", "stg_orders", "stg_payments"}),
    (
        "2+int_orders",
        "",
        {"int_orders", "stg_orders", "stg_payments", "raw_orders", "raw_payments"},
    ),
    ("int_orders+1", "", {"int_orders", "int_customer_orders", "fct_revenue"}),
    (
        "int_orders+2",
        "",
        {"int_orders", "int_customer_orders", "fct_revenue", "dim_customers", "rpt_daily"},
    ),
    ("1+rpt_exec+1", "", {"rpt_exec", "rpt_daily", "fct_campaigns"}),
    ("+util_calendar+", "", {"util_calendar"}),
    # @: the model, its descendants, and the ancestors of all of those
    (
        "@int_customer_orders",
        "",
        {
            "int_customer_orders",
            "dim_customers",
            "fct_campaigns",
            "rpt_daily",
            "rpt_exec",
            "segments",
            "int_orders",
            "stg_orders",
            "raw_orders",
            "stg_payments",
            "raw_payments",
            "stg_customers",
            "raw_customers",
            "fct_revenue",
        },
    ),
    # -- folders, relations, paths
    ("marts", "", MARTS),
    ("marts/finance", "", {"fct_revenue", "fct_payments"}),
    ("models/marts/finance", "", {"fct_revenue", "fct_payments"}),
    ("marts/finance+", "", {"fct_revenue", "fct_payments", "rpt_daily", "rpt_exec"}),
    ("+marts/product", "", {"dim_products", "stg_products", "raw_products"}),
    ("marts.fct_revenue", "", {"fct_revenue"}),
    ("staging.stg_orders+1", "", {"stg_orders", "int_orders"}),
    ("path:models/marts/marketing", "", {"dim_customers", "fct_campaigns"}),
    ("path:marts/marketing", "", {"dim_customers", "fct_campaigns"}),
    ("path:models/staging/stg_orders.sql", "", {"stg_orders"}),
    ("path:models/analytics/segments.py", "", {"segments"}),
    # -- globs
    ("stg_*", "", STAGING),
    ("*_orders", "", {"raw_orders", "stg_orders", "int_orders", "int_customer_orders"}),
    ("stg_orders*", "", {"stg_orders", "stg_orders_legacy"}),
    # -- methods
    ("tag:finance", "", {"fct_revenue", "fct_payments"}),
    ("tag:raw", "", RAW),
    ("tag:fin*", "", {"fct_revenue", "fct_payments"}),
    (
        "tag:pii+",
        "",
        {"dim_customers", "fct_payments", "fct_campaigns", "rpt_daily", "rpt_exec", "segments"},
    ),
    ("kind:python", "", {"segments"}),
    ("kind:sql", "", ALL - {"segments"}),
    ("schema:marts", "", MARTS),
    ("schema:main", "", {"util_calendar"}),
    ("config.materialized:table", "", RAW | {"segments", "rpt_exec"}),
    ("config.materialized:ephemeral", "", {"int_orders"}),
    ("materialized:ephemeral", "", {"int_orders"}),
    ("config.tags:pii", "", {"dim_customers", "fct_payments"}),
    # -- intersection (comma) and union (space)
    ("tag:finance,tag:pii", "", {"fct_payments"}),
    ("marts,tag:pii", "", {"dim_customers", "fct_payments"}),
    ("stg_orders+,marts", "", {"fct_revenue", "dim_customers", "fct_campaigns"}),
    ("fct_revenue dim_products", "", {"fct_revenue", "dim_products"}),
    ("tag:raw tag:staging", "", RAW | STAGING),
    (
        "tag:finance marts/product,stg_products+",
        "",
        {"fct_revenue", "fct_payments", "dim_products"},
    ),
    ("  stg_orders   ", "", {"stg_orders"}),
    # -- exclude
    (
        "stg_orders+",
        "rpt_exec segments",
        {
            "stg_orders",
            "int_orders",
            "int_customer_orders",
            "fct_revenue",
            "dim_customers",
            "fct_campaigns",
            "rpt_daily",
        },
    ),
    ("marts", "tag:pii", {"fct_revenue", "fct_campaigns", "dim_products"}),
    ("", "raw", ALL - RAW),
    ("", "", ALL),
    ("staging", "staging,stg_orders*", {"stg_payments", "stg_customers", "stg_products"}),
    (
        "stg_orders+",
        "dim_customers+",
        {"stg_orders", "int_orders", "int_customer_orders", "fct_revenue"},
    ),
    ("tag:finance", "tag:finance", set()),
    # -- dbt's FQN: the project's name, its folders, a model's name
    ("selection_fixture", "", ALL),
    ("selection_fixture.marts.finance", "", {"fct_revenue", "fct_payments"}),
    ("selection_fixture.marts.finance.fct_revenue+1", "", {"fct_revenue", "rpt_daily"}),
    ("marts.finance.fct_revenue", "", {"fct_revenue"}),  # without the project (teal)
    ("fqn:selection_fixture.staging.stg_orders", "", {"stg_orders"}),
    ("fqn:selection_fixture.marts.*", "", MARTS),
    ("fqn:selection_fixture.staging.stg_orders*", "", {"stg_orders", "stg_orders_legacy"}),
    ("fqn:marts/finance", "", {"fct_revenue", "fct_payments"}),  # a path, as before
]


@pytest.mark.parametrize(
    "select_, exclude, expected", CASES, ids=[f"{s or '<all>'}|{e}" for s, e, _ in CASES]
)
def test_selection_table(fixture_project, select_, exclude, expected):
    sel = [select_] if select_ else []
    exc = [exclude] if exclude else []
    assert run(fixture_project, sel, exc) == expected


def test_several_expressions_are_a_union(fixture_project):
    assert run(fixture_project, ["tag:finance", "dim_products"]) == {
        "fct_revenue",
        "fct_payments",
        "dim_products",
    }


def test_blank_expressions_mean_everything(fixture_project):
    assert run(fixture_project, ["", "   "]) == ALL


# -- errors ----------------------------------------------------------------------------------


def selection_error(fixture_project, select_, exclude=()) -> SelectionError:
    with pytest.raises(SelectionError) as info:
        run(fixture_project, select_, exclude)
    return info.value


def test_unknown_name_suggests_the_closest_model(fixture_project):
    err = selection_error(fixture_project, ["stg_ordrs"])
    assert "'stg_ordrs' matches no model" in err.message
    assert "position 1" in err.message
    assert err.col == 1
    assert "stg_orders" in err.hint


def test_unknown_name_in_a_union_names_its_position(fixture_project):
    err = selection_error(fixture_project, ["marts  +stg_ordrs+"])
    assert "position 8" in err.message and err.col == 8
    text = str(err)
    assert "marts  +stg_ordrs+" in text  # the expression is shown, with a caret under it
    assert "\n" + " " * 4 + " " * 7 + "^" in text


def test_unknown_name_in_an_intersection_names_its_position(fixture_project):
    err = selection_error(fixture_project, ["marts,tag:pii,fct_revnue"])
    assert "position 15" in err.message
    assert "fct_revenue" in err.hint


def test_unknown_folder_suggests_the_folder(fixture_project):
    err = selection_error(fixture_project, ["mart"])
    assert "marts" in err.hint


def test_unknown_method_suggests_the_closest_method(fixture_project):
    err = selection_error(fixture_project, ["marts tga:finance"])
    assert "unknown selector method 'tga'" in err.message
    assert "position 7" in err.message
    assert "tag" in err.hint


def test_unknown_tag_lists_the_tags_in_use(fixture_project):
    err = selection_error(fixture_project, ["tag:financ"])
    assert "no model has tag 'financ'" in err.message
    assert "finance" in err.hint


def test_errors_in_exclude_are_reported_too(fixture_project):
    err = selection_error(fixture_project, ["marts"], ["fct_revnue"])
    assert "fct_revnue" in err.message and "fct_revenue" in err.hint


@pytest.mark.parametrize(
    "raw",
    ["+", "@", "@+stg_orders", "stg_orders+@", "a+b", "1+", "tag:", "config:x", "++stg_orders"],
)
def test_malformed_criteria_are_errors(fixture_project, raw):
    err = selection_error(fixture_project, ["marts " + raw])
    assert "position 7" in err.message, err.message


# -- the grammar itself ------------------------------------------------------------------------


def test_parse_criterion_reads_every_part():
    c = parse_criterion("3+config.materialized:table+2")
    assert (c.method, c.value, c.up, c.up_depth, c.down, c.down_depth, c.childrens_parents) == (
        "config.materialized",
        "table",
        True,
        3,
        True,
        2,
        False,
    )
    c = parse_criterion("@marts/finance")
    assert (c.method, c.value, c.childrens_parents, c.up, c.down) == (
        "name",
        "marts/finance",
        True,
        False,
        False,
    )


_methods = st.sampled_from(
    [None, *[m for m in METHODS if m != "config"], "config.materialized", "config.tags"]
)
# model names, folders, relations, file paths and globs; they never start with a digit, which
# would make "1+x" ambiguous (depth or name), exactly as in dbt
_values = st.from_regex(r"\A[A-Za-z_*][A-Za-z0-9_*./-]{0,20}\Z")


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    method=_methods,
    value=_values,
    at=st.booleans(),
    up=st.booleans(),
    up_depth=st.none() | st.integers(0, 99),
    down=st.booleans(),
    down_depth=st.none() | st.integers(0, 99),
)
def test_parse_criterion_round_trips(method, value, at, up, up_depth, down, down_depth):
    if at:
        up = down = False
    up_depth = up_depth if up else None
    down_depth = down_depth if down else None
    text = (
        ("@" if at else "")
        + (f"{'' if up_depth is None else up_depth}+" if up else "")
        + (f"{method}:" if method else "")
        + value
        + (f"+{'' if down_depth is None else down_depth}" if down else "")
    )
    c = parse_criterion(text)
    assert (c.method, c.value, c.childrens_parents, c.up, c.up_depth, c.down, c.down_depth) == (
        method or "name",
        value,
        at,
        up,
        up_depth,
        down,
        down_depth,
    )
    assert c.raw == text


def test_a_mistake_inside_a_named_selector_names_the_selector(fixture_project):
    dag, index = fixture_project
    with pytest.raises(SelectionError) as info:
        select(dag, ["selector:finance"], [], models=index, selectors={"finance": "tag:financ"})
    assert info.value.message.startswith("in selector 'finance' (its definition in [selectors])")
    assert "no model has tag 'financ'" in info.value.message
    # the definition is shown, marked at the mistake, with the closest tag
    assert "\n    tag:financ\n    ^\n  hint: did you mean 'finance'?" in str(info.value)


@pytest.mark.parametrize(
    ("select_", "message", "hint"),
    [
        ("resource_type:modle", "unknown resource type 'modle'", "did you mean 'model'?"),
        ("resource_type:source", "resource_type:source selects nothing teal builds", "source:"),
        ("test_type:singlar", "unknown test type 'singlar'", "did you mean 'singular'?"),
        ("test_name:not_nul", "no test is named 'not_nul'", "teal ls -s resource_type:test"),
        ("selection_fixture.mart", "'selection_fixture.mart' matches no model", ""),
    ],
)
def test_an_unknown_value_of_a_dbt_method_is_an_error(fixture_project, select_, message, hint):
    err = selection_error(fixture_project, [select_])
    assert message in err.message
    assert hint in (err.hint or "")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("source:raw", {"stg"}),
        ("source:raw+", {"stg", "int", "mart"}),
        # as dbt: the source's readers are its children, one step down
        ("source:raw+1", {"stg"}),
        ("source:raw.orders+2", {"stg", "int"}),
    ],
)
def test_source_depth_counts_from_the_source(expression: str, expected: set[str]) -> None:
    from teal.compiler.graph import Dag

    dag = Dag({"stg": [], "int": ["stg"], "mart": ["int"]})
    models = {"stg": {"source_tables": ("raw.orders",)}, "int": {}, "mart": {}}
    assert select(dag, [expression], models=models) == expected
