-- When a customer was erased (a GDPR erasure): their personal data is gone, their account and
-- ledger stay so the tenant's totals still add up, and reads of them answer customer_erased.
-- Customers are written by every change: wait at most 5 s for the lock.
SET LOCAL lock_timeout = '5s';
ALTER TABLE customers ADD COLUMN erased_at TIMESTAMP;
