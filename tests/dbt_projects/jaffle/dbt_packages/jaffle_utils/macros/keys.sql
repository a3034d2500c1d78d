{% macro surrogate_key(field_list) -%}
    {{ return(adapter.dispatch('surrogate_key', 'jaffle_utils')(field_list)) }}
{%- endmacro %}

{% macro default__surrogate_key(field_list) -%}
    {%- set fields = [] -%}
    {%- for field in field_list -%}
        {%- do fields.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '" ~ var('null_token', '_null_') ~ "')") -%}
        {%- if not loop.last %}{%- do fields.append("'-'") -%}{% endif -%}
    {%- endfor -%}
    md5({{ dbt.concat(fields) }})
{%- endmacro %}

{% macro values_of(query) -%}
    {%- call statement('values_of', fetch_result=True) -%}
        {{ query }}
    {%- endcall -%}
    {%- if execute -%}
        {%- set table = load_result('values_of')['table'] -%}
        {%- set found = [] -%}
        {%- for row in table.rows -%}
            {%- do found.append(row[0]) -%}
        {%- endfor -%}
        {{ return(found | sort) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}
