{{ config(materialized='ephemeral') }}
-- an ephemeral reading an ephemeral
select grp, count(*) as n from evens group by grp
