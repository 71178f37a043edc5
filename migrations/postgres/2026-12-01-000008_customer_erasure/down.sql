-- Erased customers stay without personal data; the previous release shows them as customers
-- with no name, phone or email (their card token is a new one nobody was given).
-- Customers are written by every change: wait at most 5 s for the lock.
SET LOCAL lock_timeout = '5s';
ALTER TABLE customers DROP COLUMN erased_at;
