{% macro column_values(table, column, default=none) -%}
    {{ return(adapter.dispatch('column_values', 'shop_utils')(table, column, default)) }}
{%- endmacro %}

{% macro default__column_values(table, column, default=none) -%}
    {%- if not execute -%}{{ return(default or []) }}{%- endif -%}
    {%- do shop_utils._must_not_be_ephemeral(table, 'column_values') -%}
    {%- if load_relation(table) is none -%}
        {%- if default is none -%}
            {%- do exceptions.raise_compiler_error("column_values: " ~ table ~ " does not exist") -%}
        {%- endif -%}
        {{ return(default) }}
    {%- endif -%}
    {%- call statement('column_values', fetch_result=true) -%}
        select {{ column }} as value from {{ table }} group by 1 order by 1
    {%- endcall -%}
    {%- set found = load_result('column_values') -%}
    {{ return(found['data'] | map(attribute=0) | list if found and found['data'] else default) }}
{%- endmacro %}

{% macro pivot(column, values, agg='sum') -%}
    {%- for value in values -%}
    {{ agg }}(case when {{ column }} = '{{ value }}' then 1 else 0 end) as {{ adapter.quote(value) }}
    {%- if not loop.last %},{% endif %}
    {% endfor -%}
{%- endmacro %}
