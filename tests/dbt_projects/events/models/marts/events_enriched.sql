{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='occurred_at',
    batch_size='month',
    begin='2024-01-01',
    lookback=1,
) }}
-- stg_events declares event_time, so each batch reads only its month of it;
-- event_kinds does not, so every batch reads all of it
select e.id, e.occurred_at, e.kind, k.label, e.amount
from {{ ref('stg_events') }} as e
join {{ ref('event_kinds') }} as k on k.kind = e.kind
