{#- a pivot over the statuses stg_orders has: run_query over a ref, rendered at run -#}
{%- set statuses = [] -%}
{%- if execute -%}
{%- set statuses = run_query("select distinct status from " ~ ref('stg_orders') ~ " order by 1").columns[0].values() -%}
{%- endif %}
select customer
{%- for s in statuses %}, sum(case when status = '{{ s }}' then amount else 0 end) as {{ s }}_amount{% endfor %}
from {{ ref('stg_orders') }}
group by customer
order by customer
