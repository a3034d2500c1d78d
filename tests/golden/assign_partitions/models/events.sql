{{ config(materialized='incremental', partition_column='ts',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-06'}}) }}
-- four rows a day, made from the partition's own window
select ts, 1 as v from range({{ partition.start }}, {{ partition.end }}, INTERVAL 6 HOUR) t(ts)
