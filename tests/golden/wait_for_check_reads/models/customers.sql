select * from (values (10), (20)) t(id)
