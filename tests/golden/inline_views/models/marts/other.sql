select * from shared
