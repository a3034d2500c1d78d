{{ config(materialized='table') }}
select v2.x, (select count(*) from shared) as n from v2
