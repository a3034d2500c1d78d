select id as order_id, customer_id, status, amount, "Order Date" as order_date from {{ ref('raw_orders') }}
