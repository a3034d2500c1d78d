select * from (values (1, 10, 2), (2, 11, 1), (3, 10, 5)) as t(order_id, product_id, quantity)
