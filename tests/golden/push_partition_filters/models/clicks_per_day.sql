{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-02'}}) }}
-- a partitioned source: the day's 24 hours of the file; the unpartitioned one is read whole
select date_trunc('day', c.ts) as day, count(*) as clicks, count(distinct u.id) as users
from lake.clicks as c join lake.users as u on u.id = c.user_id
group by 1
