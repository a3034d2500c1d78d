{{ config(materialized='table') }}
select
{%- for column in adapter.get_columns_in_relation(ref('raw_stores')) %}
    '{{ column.name }}: {{ column.dtype | lower }}' as column_{{ loop.index }}{{ "," if not loop.last }}
{%- endfor %}
