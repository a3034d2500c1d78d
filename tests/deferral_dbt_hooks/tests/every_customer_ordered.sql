{#- a singular test of revenue rendered when it runs: each customer stg_customers lists
    (asked with run_query) has revenue -#}
{%- set names = [] -%}
{%- if execute -%}
{%- set names = run_query("select customer from " ~ ref('stg_customers') ~ " order by 1").columns[0].values() -%}
{%- endif %}
select c.customer from (values {% for n in names %}('{{ n }}'){% if not loop.last %}, {% endif %}{% endfor %}) as c(customer)
anti join {{ ref('revenue') }} as r using (customer)
