-- a reference with more than a name and an alias: the compiler rewrites the tree
select id from stg_orders tablesample 50 percent (reservoir, 7)
