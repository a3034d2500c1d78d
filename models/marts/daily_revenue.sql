-- Revenue per day from completed orders, with a trailing 7-day average.
with days as (
    select
        order_date,
        count(*)                 as orders,
        count(distinct customer_id) as customers,
        sum(revenue)             as revenue,
        sum(margin)              as margin
    from int_orders
    where is_completed
    group by order_date
)
select
    order_date,
    orders,
    customers,
    round(revenue, 2) as revenue,
    round(margin, 2)  as margin,
    round(avg(revenue) over (order by order_date rows between 6 preceding and current row), 2)
        as revenue_7d_avg,
    '{{ var("currency", "EUR") }}' as currency
from days
order by order_date
