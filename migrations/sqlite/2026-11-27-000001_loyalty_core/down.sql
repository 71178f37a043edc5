-- Refuses while customers or ledger entries exist; reverting would drop them with their balances.
-- (SQLite has no procedural blocks: a trigger on a scratch table raises the error.)
CREATE TEMP TABLE revert_guard (refused INTEGER);
CREATE TEMP TRIGGER revert_guard_refuses BEFORE INSERT ON revert_guard
BEGIN
    SELECT RAISE(ABORT, 'refusing to revert 2026-11-27-000001_loyalty_core: customers or ledger entries exist; reverting would drop them with their balances');
END;
INSERT INTO revert_guard SELECT 1 WHERE EXISTS (SELECT 1 FROM ledger_entries) OR EXISTS (SELECT 1 FROM customers);
DROP TABLE revert_guard;

DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE customers;
DROP TABLE programs;
DROP TABLE api_keys;
ALTER TABLE tenants DROP COLUMN currency;
ALTER TABLE tenants DROP COLUMN country;
