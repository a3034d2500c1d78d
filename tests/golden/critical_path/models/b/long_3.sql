select * from long_2
