-- When a customer was erased (a GDPR erasure): their personal data is gone, their account and
-- ledger stay so the tenant's totals still add up, and reads of them answer customer_erased.
ALTER TABLE customers ADD COLUMN erased_at TIMESTAMP;
