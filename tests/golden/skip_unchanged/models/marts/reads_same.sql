select * from same
