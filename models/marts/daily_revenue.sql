{{ config(
    materialized='incremental',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2026-01-01'}},
    partition_column='order_date',
    backfill_policy='single_run',
) }}
-- Revenue per day from completed orders. Each day is a partition: a late correction to one
-- day rebuilds that day only (teal build -s daily_revenue --partition 2025-03-01).
-- int_orders is not partitioned, so the model filters it to the partition itself.
select
    order_date,
    count(*)                    as orders,
    count(distinct customer_id) as customers,
    round(sum(revenue), 2)      as revenue,
    round(sum(margin), 2)       as margin,
    '{{ var("currency", "EUR") }}' as currency
from int_orders
where is_completed
  and order_date >= cast('{{ partition.start }}' as date)
  and order_date <  cast('{{ partition.end }}' as date)
group by order_date
