-- reads customers, which revenue's SQL does not read: deferred for this check alone
select r.name from revenue as r where r.name not in (select upper(name) from customers)
