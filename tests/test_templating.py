"""Rendering SQL models with Jinja: config capture, var/env_var/this, errors with lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.errors import TemplateError
from teal.compiler.templating import Rendered, render_sql


def render(source: str, vars: dict | None = None, **kwargs):
    return render_sql(source, path="models/m.sql", this_name="m", vars=vars or {}, **kwargs)


def render_error(source: str, vars: dict | None = None, **kwargs) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        render(source, vars, **kwargs)
    return info.value


# -- config ------------------------------------------------------------------------------


def test_config_is_captured_and_renders_to_nothing():
    r = render("{{ config(materialized='table', tags=['a', 'b']) }}\nselect 1 as x")
    assert r.config == {"materialized": "table", "tags": ["a", "b"]}
    assert r.sql == "\nselect 1 as x"
    assert r.config_line == 1


def test_config_line_is_where_the_call_starts():
    r = render("-- header\n\n{{\n  config(materialized='view')\n}}\nselect 1")
    assert r.config == {"materialized": "view"}
    assert r.config_line == 4


def test_several_config_calls_merge_later_keys_winning():
    r = render(
        "{{ config(materialized='view', alias='x') }}\n{{ config(materialized='table') }}\nselect 1"
    )
    assert r.config == {"materialized": "table", "alias": "x"}
    assert r.config_line == 1


def test_config_with_positional_argument_is_an_error_at_its_line():
    err = render_error("select 1\n{{ config('table') }}")
    assert (err.path, err.line) == ("models/m.sql", 2)
    assert "keyword arguments" in err.message
    assert "materialized='table'" in err.hint


def test_template_without_jinja_is_returned_untouched():
    source = "select '{' as brace, '}}' as close -- not jinja\nfrom t"
    r = render(source)
    assert r.sql == source and r.config == {} and r.config_line is None


# -- ref / source ---------------------------------------------------------------------------


def test_ref_and_source_render_as_markers_and_are_recorded():
    r = render("select * from {{ ref('orders') }} join {{ source('raw', 'Payments') }} using (id)")
    assert (
        r.sql == 'select * from __teal_ref."orders" join __teal_source__raw."Payments" using (id)'
    )
    assert r.refs == ["orders"]
    assert r.sources == [("raw", "Payments")]


def test_ref_with_package_name_uses_the_model_name():
    r = render("select * from {{ ref('my_package', 'orders') }}")
    assert r.refs == ["orders"]
    assert r.sql.endswith('__teal_ref."orders"')


def test_ref_without_a_name_is_an_error_at_its_line():
    err = render_error("select 1\nfrom {{ ref() }}")
    assert err.line == 2
    assert "ref() needs a model name" in str(err)


# -- var ------------------------------------------------------------------------------------


def test_var_reads_project_vars():
    r = render(
        "select {{ var('n') }} as n, '{{ var('currency') }}' as c", vars={"n": 5, "currency": "EUR"}
    )
    assert r.sql == "select 5 as n, 'EUR' as c"


def test_var_default_is_used_only_when_the_var_is_missing():
    assert render("select {{ var('n', 7) }}").sql == "select 7"
    assert render("select {{ var('n', 7) }}", vars={"n": 1}).sql == "select 1"


def test_var_set_to_a_falsy_value_is_not_replaced_by_the_default():
    assert render("select {{ var('n', 7) }}", vars={"n": 0}).sql == "select 0"


def test_a_misspelt_var_names_the_one_it_may_mean():
    err = render_error("select {{ var('reporting_curency') }}", vars={"reporting_currency": 1})
    assert err.hint == "did you mean 'reporting_currency'?"


def test_missing_var_is_an_error_with_line_column_and_hint():
    err = render_error("select 1,\n  {{ var('start_date') }} as d")
    assert (err.line, err.col) == (2, 6)
    assert "var('start_date') is not defined" in err.message
    assert "--vars" in err.hint and "var('start_date', ...)" in err.hint
    text = str(err)
    assert text.startswith("models/m.sql:2:6: ")
    assert "{{ var('start_date') }}" in text


def test_missing_var_points_at_var_not_at_an_env_var_of_the_same_name():
    err = render_error(
        "select '{{ env_var('region', 'eu') }}' as r,\n       '{{ var('region') }}' as v"
    )
    assert err.line == 2
    assert "var('region')" in err.message


# -- env_var ----------------------------------------------------------------------------


def test_env_var_reads_the_environment(monkeypatch):
    monkeypatch.setenv("TEAL_TEST_SCHEMA", "prod")
    assert render("select '{{ env_var('TEAL_TEST_SCHEMA') }}'").sql == "select 'prod'"


def test_env_var_default_when_unset(monkeypatch):
    monkeypatch.delenv("TEAL_TEST_UNSET", raising=False)
    assert render("select '{{ env_var('TEAL_TEST_UNSET', 'dev') }}'").sql == "select 'dev'"


def test_env_var_unset_without_default_is_an_error_with_hint(monkeypatch):
    monkeypatch.delenv("TEAL_TEST_UNSET", raising=False)
    err = render_error("select 1\nwhere x = '{{ env_var('TEAL_TEST_UNSET') }}'")
    assert err.line == 2
    assert "TEAL_TEST_UNSET" in err.message
    assert "export TEAL_TEST_UNSET=" in err.hint


# -- this -------------------------------------------------------------------------------


def test_this_is_the_model_name_without_a_relation_factory():
    assert render("select * from {{ this }}").sql == "select * from m"


def test_this_uses_the_relation_factory_with_the_inline_config():
    seen = []

    def make_this(config):
        seen.append(config)
        return "THIS"

    r = render("{{ config(schema='x') }}select * from {{ this }}", make_this=make_this)
    assert r.sql == "select * from THIS"
    assert seen and seen[0] is r.config  # the factory sees config(...) as it is filled in


# -- errors -------------------------------------------------------------------------------


def test_jinja_syntax_error_names_the_line():
    err = render_error("select 1\nfrom t\n{% if %}\n")
    assert err.line == 3
    assert err.message.startswith("Jinja syntax error")
    assert "{% if %}" in str(err)


def test_unclosed_block_is_a_syntax_error():
    err = render_error("{% if true %}\nselect 1\n")
    assert err.message.startswith("Jinja syntax error")
    assert err.line is not None


def test_undefined_name_names_the_line_and_lists_what_exists():
    err = render_error("select 1,\n  2,\n  {{ macro_we_do_not_have() }}")
    assert err.line == 3
    assert "macro_we_do_not_have" in err.message
    assert "ref" in err.hint and "var" in err.hint


def test_undefined_attribute_is_an_error_too():
    err = render_error("select 1\n, {{ foo.bar }}")
    assert err.line == 2 and "foo" in err.message


def test_error_raised_inside_the_template_names_its_line():
    err = render_error("select 1\n\n, {{ 1 / 0 }}")
    assert err.line == 3
    assert "division by zero" in err.message


def test_errors_of_one_file_do_not_leak_into_the_next_render():
    render_error("select {{ nope }}")
    assert render("select {{ var('a', 1) }}").sql == "select 1"


# -- line mapping -----------------------------------------------------------------------


def test_line_of_maps_lines_after_a_multiline_config_block():
    source = (
        "{{ config(\n"
        "    materialized='table',\n"
        "    tags=['x'],\n"
        ") }}\n"
        "select *\n"
        "from orders\n"
        "where amount > 0\n"
    )
    r = render(source)
    lines = r.sql.splitlines()
    assert lines[1:] == ["select *", "from orders", "where amount > 0"]
    assert [r.line_of(i) for i in (2, 3, 4)] == [5, 6, 7]


def test_line_of_follows_lines_rewritten_by_jinja():
    source = (
        "{% set cols = ['a', 'b'] %}\n"
        "select\n"
        "  {{ cols | join(', ') }}\n"
        "from {{ ref('t') }}\n"
        "where x = {{ var('x', 1) }}\n"
    )
    r = render(source)
    lines = r.sql.splitlines()
    assert lines == ["", "select", "  a, b", 'from __teal_ref."t"', "where x = 1"]
    assert [r.line_of(i) for i in range(1, 6)] == [1, 2, 3, 4, 5]


def test_line_of_follows_a_changed_line_when_a_config_line_is_gone():
    # dbt's rendering drops the config line and Jinja changes the next one: the changed
    # line maps onto the source line it is like, not proportionally onto the config line
    source = (
        "{{ config(materialized='table') }}\nselect x, {{ to_cents('1') }} as c from t\nwhere x > 0"
    )
    r = Rendered(sql="select x, (1 * 100) as c from t\nwhere x > 0", source=source)
    assert [r.line_of(i) for i in (1, 2)] == [2, 3]


def test_line_of_is_identity_without_jinja_and_outside_the_text():
    r = render("select 1\nfrom t")
    assert [r.line_of(i) for i in (1, 2, 3)] == [1, 2, 3]


# -- properties -------------------------------------------------------------------------

# SQL-ish text that contains no Jinja delimiter ({{, {%, {#) anywhere
_plain_line = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    max_size=30,
).filter(lambda s: "{" not in s)
_plain_text = st.lists(_plain_line, min_size=1, max_size=12).map("\n".join)


@settings(max_examples=200, deadline=None)
@given(_plain_text)
def test_text_without_jinja_renders_unchanged(text):
    r = render(text)
    assert r.sql == text
    assert r.config == {} and r.refs == [] and r.sources == []
    assert all(r.line_of(i) == i for i in range(1, len(text.splitlines()) + 1))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(_plain_text, st.integers(min_value=1, max_value=4))
def test_untouched_lines_keep_their_numbers_after_a_config_block(text, config_lines):
    # a config(...) call spread over ``config_lines`` lines, then plain text: every non-blank
    # plain line must map back to its own line in the file (errors are reported there)
    header = "{{ config(" + "\n" * (config_lines - 1) + "materialized='table') }}\n"
    r = render(header + text)
    assert r.config == {"materialized": "table"}
    rendered = r.sql.splitlines()
    assert rendered[1:] == text.splitlines()
    for i, line in enumerate(text.splitlines(), start=2):
        if line.strip():
            assert r.line_of(i) == i + config_lines - 1, (i, line)


@pytest.mark.parametrize(
    "condition",
    [
        "partition.key == var('hot')",
        "'south' != partition.region",
        "partition.start > '2025-01-01'",
        "'x' in partition.key",
        "partition.key | upper == 'US'",
        "partition.key.startswith('u')",
        "partition.region[0] == 's'",
        "(partition.key | lower | trim) == 'us'",
    ],
)
def test_a_partition_value_compared_in_jinja_is_a_located_error(condition):
    """A model renders once for all its partitions: a Jinja condition on a partition value
    would silently test the placeholder (the branch never or always taken)."""
    source = (
        "select '{{ partition.key }}' as k,\n"
        f"{{% if {condition} %}} 100 {{% else %}} 1 {{% endif %}} as heat\n"
    )
    with pytest.raises(TemplateError) as caught:
        render_sql(source, path="models/m.sql", this_name="m", vars={"hot": "south"})
    error = caught.value
    assert (error.path, error.line) == ("models/m.sql", 2)
    assert "is compared or changed in Jinja" in error.message
    assert error.col == source.splitlines()[1].index("partition.") + 1
    assert "case when upper('{{ partition.key }}')" in (error.hint or "")


def test_partition_values_still_render_and_concatenate():
    source = "select '{{ partition.key }}' as k, '{{ 'p_' ~ partition.region }}' as r"
    rendered = render_sql(source, path="m.sql", this_name="m", vars={})
    assert rendered.sql == (
        "select '__teal_partition_key__' as k, 'p___teal_partition_dim_region__' as r"
    )


def test_a_partition_value_in_a_jinja_truth_test_renders():
    """{% if partition.key %} and `or` test that there is a value, which there always is:
    not a comparison of the placeholder."""
    sql = render_sql(
        "select '{{ partition.key or 'all' }}' as k {% if partition.key %}, 1 as p{% endif %}",
        path="models/m.sql",
        this_name="m",
        vars={},
    ).sql
    assert "__teal_partition_key__" in sql and "1 as p" in sql
