-- read whole (not partitioned): every day of daily_events
select account, sum(amount) as total, count(*) as events
from daily_events
group by account
