-- Monthly won revenue (seasonal pace, target proposals) sums orders by date: with the
-- amount in the index it is read from the index alone (0.7 s -> 0.14 s for 36 months at
-- 500k orders). Replaces the plain date index, so imports maintain no extra index.
DROP INDEX IF EXISTS orders_date;
CREATE INDEX orders_date ON orders(ordered_on, amount_cents);
