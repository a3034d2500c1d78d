{% snapshot orders_snapshot %}
{{ config(schema='snapshots', unique_key='order_id', strategy='check', check_cols=['status']) }}
select * from {{ ref('orders') }}
{% endsnapshot %}
