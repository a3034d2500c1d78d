{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-06'}},
          partition_mapping={'events': 'lookback(3)'}) }}
-- reads its day of events and the two before it
select max(date_trunc('day', ts)) as day, count(*) as n from events
