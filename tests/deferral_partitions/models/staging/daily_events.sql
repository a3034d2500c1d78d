{{ config(
    materialized='incremental',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-05'}},
    partition_column='day',
) }}
select day, account, amount * 10 as amount
from raw.events
where day >= {{ partition.start }} and day < {{ partition.end }}
