select event_id, upper(label) as label from {{ source('events', 'ext_events') }}
