-- Lifetime value per customer who ordered at least once.
with per_customer as (
    select
        customer_id,
        min(order_date)                               as first_order_date,
        max(order_date)                               as last_order_date,
        count(*) filter (where is_completed)          as completed_orders,
        count(*) filter (where status = 'returned')   as returned_orders,
        coalesce(sum(revenue) filter (where is_completed), 0) as lifetime_revenue
    from int_orders
    group by customer_id
),
visits as (
    select customer_id, count(*) as page_views
    from stg_web_events
    group by customer_id
)
select
    c.customer_id,
    c.email,
    c.country_name,
    c.region,
    p.first_order_date,
    p.last_order_date,
    p.completed_orders,
    p.returned_orders,
    round(p.lifetime_revenue, 2) as lifetime_revenue,
    -- exact on every engine: whole cents divided with rounding half up (integer division),
    -- since a DECIMAL divided is a DOUBLE in DuckDB and rounding a DOUBLE differs by engine
    cast(
        (2 * cast(p.lifetime_revenue * 100 as bigint) + p.completed_orders)
        // nullif(2 * p.completed_orders, 0) * 0.01 as decimal(18, 2)
    ) as avg_order_value,
    coalesce(v.page_views, 0) as page_views,
    rank() over (order by p.lifetime_revenue desc) as revenue_rank
from per_customer as p
join stg_customers as c using (customer_id)
left join visits as v using (customer_id)
