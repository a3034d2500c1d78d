select * from (values
  (date '2025-01-01', 'a', 1), (date '2025-01-02', 'a', 2), (date '2025-01-02', 'b', 3),
  (date '2025-01-03', 'b', 4), (date '2025-01-03', 'b', 5), (date '2025-01-04', 'a', 6)
) as t(day, account, amount)
