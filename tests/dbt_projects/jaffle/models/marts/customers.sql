{{ config(tags=['core']) }}
with customers as (
    select * from {{ ref('stg_customers') }}
),
orders as (
    select * from {{ ref('orders') }}
),
summary as (
    select
        customer_id,
        min(order_date) as first_order,
        max(order_date) as most_recent_order,
        count(order_id) as number_of_orders,
        sum(amount) as customer_lifetime_value
    from orders
    group by customer_id
)
select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    summary.first_order,
    summary.most_recent_order,
    coalesce(summary.number_of_orders, 0) as number_of_orders,
    summary.customer_lifetime_value
from customers
left join summary using (customer_id)
