-- Units and revenue per product from completed orders, ranked within its category.
select
    p.product_id,
    p.product_name,
    p.category,
    coalesce(sum(l.quantity), 0)              as units_sold,
    round(coalesce(sum(l.line_revenue), 0), 2) as revenue,
    round(coalesce(sum(l.line_revenue - l.line_cost), 0), 2) as margin,
    dense_rank() over (
        partition by p.category order by coalesce(sum(l.line_revenue), 0) desc
    ) as rank_in_category
from stg_products as p
left join int_order_lines as l
    on l.product_id = p.product_id
    and l.order_id in (select order_id from stg_orders where is_completed)
group by p.product_id, p.product_name, p.category
