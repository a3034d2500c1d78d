select
    payment_id,
    order_id,
    method as payment_method,
    paid_at
from raw.payments
