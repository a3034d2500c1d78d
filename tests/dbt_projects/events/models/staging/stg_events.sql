{{ config(event_time='occurred_at') }}
select id, occurred_at, kind, amount
from {{ ref('raw_events') }}
where id <= {{ var('max_event_id') }}
