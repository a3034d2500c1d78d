-- reads a table of the database the profile attaches (attach: in profiles.yml)
select id, kind from {{ source('legacy', 'legacy_events') }} where id > 0
