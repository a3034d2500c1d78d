select 4 as a
