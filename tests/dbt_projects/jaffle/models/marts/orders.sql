{% set methods = payment_methods() %}
with orders as (
    select * from {{ ref('stg_orders') }}
),
payments as (
    select * from {{ ref('int_order_payments') }}
)
select
    orders.order_id,
    orders.customer_id,
    orders.order_date,
    orders.status,
    orders.order_key,
    {% for m in methods -%}
    coalesce(payments.{{ m }}_amount, 0) as {{ m }}_amount,
    {% endfor -%}
    coalesce(payments.total_amount, 0) as amount
from orders
left join payments using (order_id)
