select country, count(*) as n from daily group by 1
