select count(*) as n from orders
