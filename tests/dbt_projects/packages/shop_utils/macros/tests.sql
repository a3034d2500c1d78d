{#- A generic test as dbt_utils writes expression_is_true: the failing rows' columns when
    failures are stored, else a constant (should_store_failures() is dbt's built-in). -#}
{% test expression_is_true(model, expression) %}
    {{ return(adapter.dispatch('test_expression_is_true', 'shop_utils')(model, expression)) }}
{% endtest %}

{% macro default__test_expression_is_true(model, expression) %}
{% set column_list = '*' if should_store_failures() else '1 as failed' %}
select {{ column_list }}
from {{ model }}
where not ({{ expression }})
{% endmacro %}
