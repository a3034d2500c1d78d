select customer_id, upper(name) as name from customers
