select * from (values (10, 'tea'), (11, 'cups')) as t(product_id, name)
