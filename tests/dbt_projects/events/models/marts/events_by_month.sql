{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='occurred_at',
    batch_size='year',
    begin='2024-03-15',
) }}
select
    cast(date_trunc('month', occurred_at) as timestamp) as occurred_at,
    count(*) as events,
    sum(amount) as amount,
    {% if is_incremental() %}'incremental'{% else %}'first run'{% endif %} as built_by
from {{ ref('stg_events') }}
group by 1
