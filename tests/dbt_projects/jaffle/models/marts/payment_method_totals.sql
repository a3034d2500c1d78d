{#- the payment methods are read from the staging view when the model is compiled,
    which in a fresh build is after stg_payments is built -#}
{%- set methods_query -%}
select distinct payment_method from {{ ref('stg_payments') }} order by 1
{%- endset -%}
{%- set results = run_query(methods_query) -%}
{%- if execute -%}
{%- set methods = results.columns[0].values() -%}
{%- else -%}
{%- set methods = [] -%}
{%- endif -%}
select
    {% for m in methods -%}
    sum(case when payment_method = '{{ m }}' then amount end) as {{ m }}_amount,
    {% endfor -%}
    count(*) as payments
from {{ ref('stg_payments') }}
