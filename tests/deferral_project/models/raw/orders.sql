select * from (values (1, 10, 25.0), (2, 10, 5.5), (3, 11, 40.0)) as t(order_id, customer_id, amount)
