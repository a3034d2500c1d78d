select * from long_1
