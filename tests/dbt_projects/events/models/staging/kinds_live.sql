select kind, label
from {{ ref('event_kinds') }}
where kind != '{{ var("dropped_kind", "none") }}'
