{{ config(materialized='ephemeral') }}
-- Order lines priced from the catalogue. Ephemeral: inlined as a CTE into each consumer.
select
    i.order_item_id,
    i.order_id,
    i.product_id,
    p.category,
    i.quantity,
    i.quantity * p.unit_price as line_revenue,
    i.quantity * p.unit_cost  as line_cost
from stg_order_items as i
join stg_products as p using (product_id)
