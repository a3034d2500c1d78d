{% macro star(from, except=[]) -%}
    {{ return(adapter.dispatch('star', 'shop_utils')(from, except)) }}
{%- endmacro %}

{% macro default__star(from, except=[]) -%}
    {%- do shop_utils._must_be_relation(from, 'star') -%}
    {%- do shop_utils._must_not_be_ephemeral(from, 'star') -%}
    {%- if not execute -%}{{ return('*') }}{%- endif -%}
    {%- set skipped = except | map('lower') | list -%}
    {%- set kept = [] -%}
    {%- for col in adapter.get_columns_in_relation(from) -%}
        {%- if col.column | lower not in skipped -%}{%- do kept.append(adapter.quote(col.column)) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(kept | join(', ') if kept else '/* no columns */') }}
{%- endmacro %}

{% macro union_all(relations) -%}
    {#- every column of every relation; one a relation lacks is null in its rows; the widest
        text type wins, as dbt_utils.union_relations chooses -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set widest = {} -%}
    {%- set per_relation = {} -%}
    {%- for relation in relations -%}
        {%- do shop_utils._must_be_relation(relation, 'union_all') -%}
        {%- set names = [] -%}
        {%- for col in adapter.get_columns_in_relation(relation) -%}
            {%- do names.append(col.column) -%}
            {%- set seen = widest.get(col.column) -%}
            {%- if seen is none or (col.is_string() and seen.is_string() and col.string_size() > seen.string_size()) -%}
                {%- do widest.update({col.column: col}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do per_relation.update({relation: names}) -%}
    {%- endfor -%}
    {%- for relation in relations %}
    select '{{ relation.identifier }}' as source_relation
        {%- for name, col in widest.items() -%}
        , {% if name in per_relation[relation] %}cast({{ adapter.quote(name) }} as {{ col.data_type }}){% else %}cast(null as {{ col.data_type }}){% endif %} as {{ adapter.quote(name) }}
        {%- endfor %}
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
