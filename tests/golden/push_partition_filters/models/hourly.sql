{{ config(materialized='incremental', partition_column='ts',
          partitioned_by={'hourly': {'start': '2026-01-01-00:00', 'end': '2026-01-02-00:00'}}) }}
select ts, 1 as v from range({{ partition.start }}, {{ partition.end }}, INTERVAL 10 MINUTE) t(ts)
