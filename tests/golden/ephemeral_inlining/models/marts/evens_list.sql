select evens.id from evens order by evens.id
