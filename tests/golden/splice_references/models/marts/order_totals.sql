with stg_customers as (
    -- a CTE named like a model: references to it stay as they are
    select * from staging.stg_customers where id is not null
)
Select Stg_Orders.customer_id, stg_customers.name, Sum(Stg_Orders.amount) As total
From {{ ref('stg_orders') }} Join stg_customers On stg_customers.id = Stg_Orders.customer_id
Group By All
