select * from (values (10, 'ada'), (11, 'bob')) as t(customer_id, name)
