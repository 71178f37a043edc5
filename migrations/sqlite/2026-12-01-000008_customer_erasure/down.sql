-- Erased customers stay without personal data; the previous release shows them as customers
-- with no name, phone or email (their card token is a new one nobody was given).
ALTER TABLE customers DROP COLUMN erased_at;
