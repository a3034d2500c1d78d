{{ config(
    materialized='incremental',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2026-01-01'}},
    partition_column='event_date',
    backfill_policy='single_run',
) }}
-- Page views per day and page. raw.web_events is partitioned by day too, so teal pushes the
-- day's filter into the scan itself: see target/compiled/models/marts/daily_traffic.sql.
select
    cast(occurred_at as date)    as event_date,
    page,
    count(*)                     as views,
    count(distinct customer_id)  as visitors
from web_events
group by all
