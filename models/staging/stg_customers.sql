-- Customers, cleaned: one row per customer, with the country's name.
select
    c.customer_id,
    c.first_name,
    lower(c.email)            as email,
    c.city,
    c.country_code,
    countries.country_name,
    countries.region,
    c.signed_up_at,
    cast(c.signed_up_at as date) as signup_date
from customers as c
left join reference.countries using (country_code)
