select 5 as a
