{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-02'}},
          partition_mapping={'hourly': 'all'}) }}
-- every partition of the upstream is read: no filter
select max(date_trunc('day', ts)) as day, count(*) as n from hourly
