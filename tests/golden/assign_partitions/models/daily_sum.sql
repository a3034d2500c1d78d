{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-06'}}) }}
-- same partitions as events: reads the same day of it
select date_trunc('day', ts) as day, sum(v) as total from events group by 1
