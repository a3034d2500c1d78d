-- compiled SQL keeps the author's layout, case and comments; only the names change
SELECT id,
       customer_id,   -- who ordered
       amount / 100.0 AS amount  /* cents to euros */
FROM landing.orders
WHERE status <> 'test';
