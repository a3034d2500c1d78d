select name, sum(amount_x2) as revenue
from customer_orders
group by name
order by name
