{{ config(materialized='incremental', partition_column='month',
          partitioned_by={'monthly': {'start': '2026-01-01', 'end': '2026-02-01'}}) }}
-- a month reads every day of events inside it
select date_trunc('month', ts) as month, count(*) as n from events group by 1
