{{ config(materialized='incremental', partition_column='region',
          partitioned_by=['eu', 'us']) }}
-- static partitions: the keys this partition reads, as a list
select region, sum(n) as n from regions group by region
