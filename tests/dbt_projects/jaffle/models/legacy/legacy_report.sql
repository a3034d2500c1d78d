select * from {{ ref('does_not_exist_when_disabled') }}
