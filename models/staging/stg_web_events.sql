select
    event_id,
    customer_id,
    page,
    occurred_at,
    cast(occurred_at as date) as event_date
from web_events
