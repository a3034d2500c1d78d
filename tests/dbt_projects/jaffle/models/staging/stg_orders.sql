select
    id as order_id,
    user_id as customer_id,
    order_date,
    status,
    {{ jaffle_utils.surrogate_key(['id', 'user_id']) }} as order_key
from {{ ref('raw_orders') }}
-- {{ ref('raw_payments') }} in a comment is no dependency for teal
