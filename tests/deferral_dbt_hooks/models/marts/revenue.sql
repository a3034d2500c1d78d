{#- its hooks read what its SQL does not: stg_customers (a dependency, as in dbt) -#}
{{ config(
    pre_hook="create or replace table {{ this.schema }}.customers_seen as select count(*) as n from {{ ref('stg_customers') }}",
    post_hook="create or replace table {{ this.schema }}.revenue_checked as select count(*) as n from {{ this }} join {{ ref('stg_customers') }} using (customer)",
) }}
select customer, sum(amount) as revenue
from {{ ref('stg_orders') }}
group by customer
order by customer
