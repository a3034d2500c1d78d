{#- Tests that compare the tested model with another relation, in the shape of dbt_utils's
    equal_rowcount, fewer_rows_than and equality: each query returns rows whether the test
    passes or not, and the test's config() sets the fail_calc dbt computes over them (at
    parse time, before `execute` is checked). equality without compare_columns compares
    every column of the tested model, read with adapter.get_columns_in_relation. -#}

{% test equal_rowcount(model, compare_model) %}
    {{ return(adapter.dispatch('test_equal_rowcount', 'shop_utils')(model, compare_model)) }}
{% endtest %}

{% macro default__test_equal_rowcount(model, compare_model) %}
{{ config(fail_calc = 'sum(coalesce(diff_count, 0))') }}
{#- one row: how many rows one side has more than the other -#}
select abs(tested.n - compared.n) as diff_count
from (select count(*) as n from {{ model }}) as tested
cross join (select count(*) as n from {{ compare_model }}) as compared
{% endmacro %}

{% test fewer_rows_than(model, compare_model) %}
    {{ return(adapter.dispatch('test_fewer_rows_than', 'shop_utils')(model, compare_model)) }}
{% endtest %}

{% macro default__test_fewer_rows_than(model, compare_model) %}
{{ config(fail_calc = 'sum(coalesce(row_count_delta, 0))') }}
{#- one row: 0 when the tested model has fewer rows, else by how many it has too many -#}
select case
    when tested.n < compared.n then 0
    else tested.n - compared.n + 1
end as row_count_delta
from (select count(*) as n from {{ model }}) as tested
cross join (select count(*) as n from {{ compare_model }}) as compared
{% endmacro %}

{% test equality(model, compare_model, compare_columns=none) %}
    {{ return(adapter.dispatch('test_equality', 'shop_utils')(model, compare_model, compare_columns)) }}
{% endtest %}

{% macro default__test_equality(model, compare_model, compare_columns=none) %}
{{ config(fail_calc = 'sum(missing)') }}
{%- if not execute -%}{{ return('') }}{%- endif -%}
{%- do shop_utils._must_be_relation(model, 'equality') -%}
{%- if not compare_columns -%}
    {%- do shop_utils._must_not_be_ephemeral(model, 'equality') -%}
    {%- set compare_columns = adapter.get_columns_in_relation(model) | map(attribute='quoted') | list -%}
{%- endif -%}
{%- set listed = compare_columns | join(', ') -%}
{#- two rows: how many rows of each side the other lacks (duplicates counted) -#}
with only_tested as (
    select {{ listed }} from {{ model }}
    except all
    select {{ listed }} from {{ compare_model }}
),
only_compared as (
    select {{ listed }} from {{ compare_model }}
    except all
    select {{ listed }} from {{ model }}
)
select 'tested' as side, count(*) as missing from only_tested
union all
select 'compare_model' as side, count(*) as missing from only_compared
{% endmacro %}
