{% snapshot kinds_snapshot %}
{{ config(schema='snapshots', unique_key='kind', strategy='check', check_cols='all', hard_deletes='new_record') }}
select * from {{ ref('kinds_live') }}
{% endsnapshot %}
