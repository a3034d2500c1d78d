select kind, label, events, amount, amount / nullif(events, 0) as amount_per_event
from {{ ref('kind_totals', v=2) }}
