select * from (values (1, 'ada', 25.0), (2, 'ada', 5.5), (3, 'bob', 40.0)) as t(order_id, customer, amount)
