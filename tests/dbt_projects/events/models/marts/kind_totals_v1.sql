select kind, count(*) as events
from {{ ref('stg_events') }}
group by kind
