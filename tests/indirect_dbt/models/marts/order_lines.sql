select o.order_id, p.name, o.quantity
from {{ ref('stg_orders') }} as o
join {{ ref('stg_products') }} as p using (product_id)
