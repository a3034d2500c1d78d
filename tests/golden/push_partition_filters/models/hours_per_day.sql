{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-02'}}) }}
-- a partitioned model read twice: both scans are filtered
select date_trunc('day', a.ts) as day, count(*) as pairs
from hourly as a join hourly as b on b.ts = a.ts + INTERVAL 1 HOUR
group by 1
