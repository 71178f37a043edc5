DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE customers;
DROP TABLE programs;
DROP TABLE api_keys;
ALTER TABLE tenants DROP COLUMN currency;
ALTER TABLE tenants DROP COLUMN country;
