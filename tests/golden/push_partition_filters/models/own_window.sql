{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-02'}}) }}
-- the model filters by its own window: nothing is pushed down
select {{ partition.start }} as day, count(*) as n
from hourly
where ts >= {{ partition.start }} - INTERVAL 1 HOUR and ts < {{ partition.end }}
