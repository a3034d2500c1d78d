{{ config(
    pre_hook="delete from {{ target.schema }}.hook_log where source = 'stale'",
    post_hook=["update {{ this }} set amount_per_event = round(amount_per_event, 1)"],
) }}
select
    latest.kind,
    latest.events as events_latest,
    first.events as events_v1,
    nxt.amount_per_event
from {{ ref('kind_totals') }} as latest
left join {{ ref('kind_totals', v=1) }} as first on first.kind = latest.kind
left join {{ ref('kind_totals', version=3) }} as nxt on nxt.kind = latest.kind
