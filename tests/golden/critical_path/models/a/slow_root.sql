select 2 as a
