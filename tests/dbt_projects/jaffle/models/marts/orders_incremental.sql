{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert') }}
select order_id, customer_id, order_date, status, amount
from {{ ref('orders') }}
where order_id <= {{ var('max_order_id') }}
{% if is_incremental() %}
  and order_id > (select coalesce(max(order_id), 0) from {{ this }})
{% endif %}
