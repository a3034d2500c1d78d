{{ config(materialized='ephemeral') }}
select id, grp from base where id % 2 = 0
