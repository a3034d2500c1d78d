{{ config(materialized='table') }}
-- Orders with their totals and how they were paid.
with totals as (
    select
        order_id,
        count(*)          as line_count,
        sum(quantity)     as units,
        sum(line_revenue) as revenue,
        sum(line_cost)    as cost
    from int_order_lines
    group by order_id
)
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    o.is_completed,
    t.line_count,
    t.units,
    round(t.revenue, 2)          as revenue,
    round(t.cost, 2)             as cost,
    round(t.revenue - t.cost, 2) as margin,
    pay.payment_method,
    case
        when t.revenue >= 500 then 'large'
        when t.revenue >= 100 then 'medium'
        else 'small'
    end as basket_size
from stg_orders as o
join totals as t using (order_id)
left join stg_payments as pay using (order_id)
