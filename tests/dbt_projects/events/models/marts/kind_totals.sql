-- the latest version (2) may live in the file without a suffix
select k.kind, k.label, count(e.id) as events, sum(e.amount) as amount
from {{ ref('event_kinds') }} as k
left join {{ ref('stg_events') }} as e on e.kind = k.kind
group by k.kind, k.label
