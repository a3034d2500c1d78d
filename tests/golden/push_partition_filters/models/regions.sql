{{ config(materialized='incremental', partition_column='region',
          partitioned_by=['eu', 'us']) }}
select '{{ partition.key }}' as region, 1 as n
