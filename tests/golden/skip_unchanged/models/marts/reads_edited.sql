select * from edited
