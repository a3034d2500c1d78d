select c.id, upper(c.name) as name from {{ source('files', 'customers') }} as c
