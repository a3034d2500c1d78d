{{ config(materialized='table') }}
-- not partitioned: rebuilt whole whenever it runs
select count(*) as days, sum(total) as total from daily_sum
