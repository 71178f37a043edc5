-- Refuses while customers or ledger entries exist; reverting would drop them with their balances.
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
