{{ config(
    materialized='incremental',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-05'}},
    partition_column='day',
) }}
select day, account, sum(amount) as total, count(*) as events
from daily_events
group by day, account
