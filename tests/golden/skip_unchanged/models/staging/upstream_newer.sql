select 3 as a
