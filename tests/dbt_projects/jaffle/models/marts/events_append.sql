{{ config(materialized='incremental', incremental_strategy='append') }}
select order_id, status, {{ var('status_day') }} as loaded_day
from {{ ref('stg_orders') }}
where order_id <= {{ var('max_order_id') }}
{% if is_incremental() %}
  and order_id > (select max(order_id) from {{ this }})
{% endif %}
