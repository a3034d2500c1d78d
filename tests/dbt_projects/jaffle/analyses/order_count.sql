select count(*) from {{ ref('orders') }}
