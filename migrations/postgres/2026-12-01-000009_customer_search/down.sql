-- Customers are written by every change: wait at most 5 s for the lock.
SET LOCAL lock_timeout = '5s';
DROP INDEX customers_unindexed_idx;
ALTER TABLE customers DROP COLUMN search_indexed;
DROP TABLE customer_search_terms;
