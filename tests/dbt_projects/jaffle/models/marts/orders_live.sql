-- orders still open: the second build of the scenario drops the last ten
select order_id, status
from {{ ref('stg_orders') }}
where order_id <= 100 - 10 * ({{ var('status_day') }} - 1)
