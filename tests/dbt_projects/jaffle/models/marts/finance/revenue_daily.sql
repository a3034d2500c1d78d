select
    order_date,
    count(*) as orders,
    sum(amount) as revenue,
    {{ dbt.date_trunc('month', 'order_date') }} as order_month,
    {{ dbt.dateadd('day', 7, 'order_date') }} as week_later
from {{ ref('orders') }}
group by order_date
