{{ config(materialized='view') }}
select order_id, customer_id, amount * 2 as amount_x2 from raw.orders
