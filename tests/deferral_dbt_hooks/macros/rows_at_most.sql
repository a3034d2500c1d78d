{#- the tested model has no more rows than `other` has: run_query over a ref, so the test
    is rendered when it runs -#}
{% test rows_at_most(model, other) %}
{%- set limit = 0 -%}
{%- if execute -%}
{%- set limit = run_query("select count(*) from " ~ other).columns[0].values()[0] -%}
{%- endif %}
select count(*) as n from {{ model }} having count(*) > {{ limit }}
{% endtest %}
