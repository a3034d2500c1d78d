{{ config(materialized='view') }}
-- The daily revenue with a trailing 7-day average (a view over the partitioned table).
select
    order_date,
    revenue,
    round(avg(revenue) over (order by order_date rows between 6 preceding and current row), 2)
        ::decimal(18, 2) as revenue_7d_avg
from daily_revenue
