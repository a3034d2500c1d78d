select
    order_id,
    customer_id,
    ordered_at,
    cast(ordered_at as date) as order_date,
    status,
    status = 'completed'     as is_completed
from {{ ref('orders') }}
