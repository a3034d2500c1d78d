-- three daily partitions of two countries each; --vars '{bad_day: 2025-01-02}' makes
-- that day's second country one the check does not accept
{{ config(materialized='incremental', partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-04'}}, partition_column='day') }}
select cast({{ partition.start }} as date) as day, c.country
from (values ('DE'), (case when '{{ partition.key }}' = '{{ var("bad_day", "") }}' then 'XX' else 'FR' end)) as c(country)
