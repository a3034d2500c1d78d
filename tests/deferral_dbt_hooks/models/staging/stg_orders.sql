select * from (values
  (1, 'ada', 25.0, 'shipped'), (2, 'ada', 5.5, 'returned'), (3, 'bob', 40.0, 'shipped')
) as t(order_id, customer, amount, status)
