{{ config(materialized='ephemeral') }}
select c.name, o.amount_x2 from stg_orders o join stg_customers as c using (customer_id)
