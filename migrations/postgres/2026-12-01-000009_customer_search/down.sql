DROP INDEX customers_unindexed_idx;
ALTER TABLE customers DROP COLUMN search_indexed;
DROP TABLE customer_search_terms;
