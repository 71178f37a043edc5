-- Who issued each key (the issuing key's id, or `operator`), when it stops working, and when it
-- was last used (written at most once a minute per key). Keys issued before stay as they were:
-- no issuer on record, no expiry.
-- Keys are read on every authentication the cache misses: wait at most 5 s for the lock.
SET LOCAL lock_timeout = '5s';
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP;
