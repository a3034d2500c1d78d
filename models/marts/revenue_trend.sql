{{ config(materialized='view') }}
-- The daily revenue with a trailing 7-day average (a view over the partitioned table).
-- The average in whole cents, rounded half up by integer division: exact on every engine
-- (DuckDB's avg of a DECIMAL is a DOUBLE, and engines round a DOUBLE's ties differently).
select
    order_date,
    revenue,
    cast(
        (
            2 * cast(100 * sum(revenue) over (order by order_date rows 6 preceding) as bigint)
            + count(*) over (order by order_date rows 6 preceding)
        ) // (2 * count(*) over (order by order_date rows 6 preceding)) * 0.01
        as decimal(18, 2)
    ) as revenue_7d_avg
from daily_revenue
