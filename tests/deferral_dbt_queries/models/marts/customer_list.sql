{#- every column stg_customers has, listed: adapter.get_columns_in_relation over a ref -#}
{%- set cols = adapter.get_columns_in_relation(ref('stg_customers')) %}
select {% for c in cols %}{{ c.name }}{% if not loop.last %}, {% endif %}{% endfor %}
from {{ ref('stg_customers') }}
order by 1
