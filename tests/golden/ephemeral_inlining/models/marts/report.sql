{{ config(materialized='table') }}
-- the consumer already has a CTE whose name collides with the inlined one
with __teal_eph_evens_by_group as (select 1 as one)
select e.grp, e.n, (select one from __teal_eph_evens_by_group) as one
from evens_by_group as e
