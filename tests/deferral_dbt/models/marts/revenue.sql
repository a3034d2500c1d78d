select customer, sum(amount) as revenue
from {{ ref('stg_orders') }}
group by customer
order by customer
