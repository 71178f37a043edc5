-- Refuses while customers or ledger entries exist; reverting would drop them with their balances.
-- The check holds until the end: writers of these tables wait (at most 5 s here) meanwhile.
SET LOCAL lock_timeout = '5s';
LOCK TABLE customers, ledger_entries IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries) OR EXISTS (SELECT 1 FROM customers) THEN
        RAISE EXCEPTION 'refusing to revert 2026-11-27-000001_loyalty_core: customers or ledger entries exist; reverting would drop them with their balances';
    END IF;
END $$;

DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE customers;
DROP TABLE programs;
DROP TABLE api_keys;
ALTER TABLE tenants DROP COLUMN currency;
ALTER TABLE tenants DROP COLUMN country;
