{% macro cents_to_dollars(column_name, scale=2) -%}
    round(({{ column_name }} / 100)::numeric(16, {{ scale }}), {{ scale }})
{%- endmacro %}

{% macro payment_methods() -%}
    {{ return(jaffle_utils.values_of("select * from (values ('bank_transfer'), ('coupon'), ('credit_card'), ('gift_card')) as t(m)")) }}
{%- endmacro %}
