-- A singular check: its rows are the failures. No payment may belong to a cancelled order.
-- Its asset (stg_payments) is the first model it reads.
select p.payment_id, o.order_id, o.status
from stg_payments as p
join stg_orders as o using (order_id)
where o.status = 'cancelled'
