{{ config(severity='warn') }}
select c.customer_id
from {{ ref('customers') }} as c
left join {{ ref('orders') }} as o using (customer_id)
where o.order_id is null
