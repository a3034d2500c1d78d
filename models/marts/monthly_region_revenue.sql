{{ config(
    materialized='incremental',
    partitioned_by={
        'month': {'type': 'monthly', 'start': '2025-01-01', 'end': '2026-01-01'},
        'region': ['Central Europe', 'Northern Europe', 'Southern Europe', 'Western Europe'],
    },
    partition_column={'month': 'month', 'region': 'region'},
) }}
-- Two-dimensional partitions: month x region (keys like '2025-03|Southern Europe').
select
    cast(date_trunc('month', o.order_date) as date) as month,
    c.region,
    count(*)                 as orders,
    round(sum(o.revenue), 2) as revenue
from int_orders as o
join stg_customers as c using (customer_id)
where o.is_completed
  and o.order_date >= cast('{{ partition.start }}' as date)
  and o.order_date <  cast('{{ partition.end }}' as date)
  and c.region = '{{ partition.region }}'
group by all
