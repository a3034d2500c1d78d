-- the source of the snapshots: each order's status as of var('status_day')
select
    order_id,
    customer_id,
    case when {{ var('status_day') }} > 1 and order_id % 3 = 0 then 'completed' else status end as status,
    cast('2018-06-01' as timestamp) + to_days({{ var('status_day') }}) as updated_at
from {{ ref('stg_orders') }}
