select * from (values ('ada', 'Ada Lovelace', 'uk'), ('bob', 'Bob Hope', 'us')) as t(customer, full_name, country)
